"""Secret-shaped values are masked before anything of a job's output is stored."""

from __future__ import annotations

import base64
import string

from hypothesis import given
from hypothesis import strategies as st

from producer.masking import KEY_MASK, MASK, SecretMasker, mask_text

ACCOUNT_KEY = base64.b64encode(bytes(range(64))).decode()
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLXZhbHVl"
PEM = [
    "-----BEGIN RSA PRIVATE KEY-----",
    "MIIEowIBAAKCAQEAx4Gm3k1o0Yl8wUj5Ho3dQ2Y7vB+K9lT0pZ6fN2eJq8rL",
    "Proc-Type: 4,ENCRYPTED",
    "",
    "bW9yZSBrZXkgbWF0ZXJpYWwgaGVyZQ==",
    "-----END RSA PRIVATE KEY-----",
]

secrets_alphabet = st.text(alphabet=string.ascii_letters + string.digits, min_size=12, max_size=40)
surrounding = st.text(alphabet=" abcdefghij.,:", max_size=20)


def test_connection_string_account_key_is_masked_and_the_rest_kept() -> None:
    """`AccountKey=` loses its value; the account name and endpoint stay readable."""
    text = f"Protocol=https;AccountName=acme;AccountKey={ACCOUNT_KEY};EndpointSuffix=x"
    masked = mask_text(text)
    assert ACCOUNT_KEY not in masked
    assert f"AccountKey={MASK};" in masked
    assert "AccountName=acme" in masked


def test_bare_storage_account_key_is_masked() -> None:
    """An 88-character base64 key printed on its own is masked."""
    assert mask_text(f"key is {ACCOUNT_KEY} ok") == f"key is {MASK} ok"


def test_sas_signature_is_masked_but_the_other_parameters_kept() -> None:
    """Only `sig=` of a SAS URL is secret; its permissions and expiry stay readable."""
    url = "https://acme.blob.core.windows.net/c/b?sv=2024-01-01&se=2026-01-01&sp=r&sig=abc%2Fdef%3D"
    masked = mask_text(url)
    assert masked.endswith(f"sp=r&sig={MASK}")
    assert "abc%2Fdef" not in masked


def test_bearer_token_and_bare_jwt_are_masked() -> None:
    """`Authorization: Bearer ...` and a printed JWT lose their token."""
    assert mask_text("Authorization: Bearer abcdef123456.xyz") == f"Authorization: Bearer {MASK}"
    assert mask_text(f"token={JWT}") == f"token={MASK}"


def test_password_in_url_is_masked_and_user_and_host_kept() -> None:
    """`scheme://user:password@host` keeps the user and the host."""
    masked = mask_text("connecting to postgresql://bob:s3cr3t!@db.example.com:5432/app")
    assert masked == f"connecting to postgresql://bob:{MASK}@db.example.com:5432/app"


def test_url_with_port_and_no_credentials_is_left_alone() -> None:
    """A port number is not a password."""
    text = "GET http://localhost:8080/path?q=1 done"
    assert mask_text(text) == text


def test_private_key_block_in_one_message_becomes_one_marker() -> None:
    """A logged message holding a whole PEM block keeps only a marker in its place."""
    text = "loaded key:\n" + "\n".join(PEM) + "\nnext"
    assert mask_text(text) == f"loaded key:\n{KEY_MASK}\nnext"


def test_private_key_block_over_console_lines_is_dropped_after_its_first_line() -> None:
    """Printed line by line, the block leaves its marker line and nothing else."""
    masker = SecretMasker()
    out = [masker.mask_line(line) for line in ["before", *PEM, "after"]]
    assert [line for line in out if line is not None] == ["before", KEY_MASK, "after"]


def test_stray_begin_line_does_not_swallow_later_output() -> None:
    """A key block ends at the first line that cannot be part of one."""
    masker = SecretMasker()
    out = [masker.mask_line(line) for line in [PEM[0], PEM[1], "epoch 1 done", "epoch 2 done"]]
    assert out == [KEY_MASK, None, "epoch 1 done", "epoch 2 done"]


def test_text_without_secrets_is_unchanged() -> None:
    """Ordinary output (metrics JSON, progress bars, paths) passes through untouched."""
    for text in ['{"epoch": 1, "loss": 0.5}', "100%|██████████| 10/10", "a=b c=d", "/tmp/x:1"]:
        assert mask_text(text) == text


@given(secret=secrets_alphabet, before=surrounding, after=surrounding)
def test_no_generated_url_password_survives_masking(secret: str, before: str, after: str) -> None:
    """Whatever the password and the text around it, it is not in the masked text."""
    masked = mask_text(f"{before}https://user:{secret}@host.example/x{after}")
    assert masked == f"{before}https://user:{MASK}@host.example/x{after}"


@given(secret=secrets_alphabet, before=surrounding)
def test_no_generated_bearer_token_or_sig_survives_masking(secret: str, before: str) -> None:
    """Bearer tokens and SAS signatures of any shape are masked wherever they appear."""
    assert mask_text(f"{before} Bearer {secret}") == f"{before} Bearer {MASK}"
    assert mask_text(f"{before} https://a/b?sv=1&sig={secret}&se=2") == (
        f"{before} https://a/b?sv=1&sig={MASK}&se=2"
    )


@given(key=st.binary(min_size=64, max_size=64), before=surrounding)
def test_every_storage_key_is_masked(key: bytes, before: str) -> None:
    """Any 64-byte key in base64, as Azure shows it, is masked alone or in a connection string."""
    encoded = base64.b64encode(key).decode()
    assert encoded not in mask_text(f"{before} {encoded} {before}")
    assert encoded not in mask_text(f"AccountName=a;AccountKey={encoded};")


@given(text=st.text(max_size=200))
def test_masking_never_fails_and_is_idempotent(text: str) -> None:
    """Any text can be masked, and masking masked text changes nothing more."""
    once = mask_text(text)
    assert mask_text(once) == once
