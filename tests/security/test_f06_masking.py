"""Finding 6: secret shapes a job prints are masked before storage, encoded ones included, and
key blocks over several lines (with a prefix per line, PGP too); ordinary output is untouched."""

from __future__ import annotations

import logging

import orjson
import pytest

from producer.capture import capture_job_output
from producer.masking import SecretMasker, mask_text, mask_value
from producer.streamer import LogStreamer
from shared.adapters.azure_blob import AzureBlobStore
from shared.layout import log_path
from tests.integration.test_capture import JOB

SIG = "sv0Xq9mF2yQ7nJk3LpR8tWz1A4bC6dE5fG7hI9jK0lM%3D"
ACCOUNT_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)
GH = "ghp_aB3dE5fG7hI9jK1lM3nO5pQ7rS9tU1vW3xY5"
SHAPES: list[tuple[str, str]] = [
    (f"https://a.blob.core.windows.net/c/b?sv=2024&sig={SIG}", SIG),
    (f"url=https%3A%2F%2Fa.blob.core.windows.net%2Fc%3Fsv%3D2024%26sig%3D{SIG}", SIG),
    (f'{{"url": "https://a.blob.core.windows.net/c?sv=2024\\u0026sig={SIG}"}}', SIG),
    (str({"url": f"https://a/c?sv=1&sig={SIG}"}), SIG),
    (f"DefaultEndpointsProtocol=https;AccountName=a;AccountKey={ACCOUNT_KEY}", ACCOUNT_KEY[:40]),
    (
        "AccountKey%3DEby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq%2FK1SZFPTOtr",
        "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50",
    ),
    ("DB_PASSWORD=hunter2-but-longer", "hunter2-but-longer"),
    ("PGPASSWORD=s3cr3t!pg", "s3cr3t!pg"),
    ("export MYSQL_PWD='pa55word'", "pa55word"),
    ('{"user": "svc", "password": "Tr0ub4dor&3"}', "Tr0ub4dor&3"),
    ("password: correct-horse-battery", "correct-horse-battery"),
    ('  db_password: "yaml-quoted-pass"', "yaml-quoted-pass"),
    ("client_secret=Zq8~kLm.Np3rSt-Uv4wXy5z", "Zq8~kLm.Np3rSt-Uv4wXy5z"),
    (f"GITHUB_TOKEN={GH}", GH),
    (f"using {GH} to clone", GH[4:]),
    ("aws key AKIAIOSFODNN7EXAMPLE loaded", "AKIAIOSFODNN7EXAMPLE"),
    (
        "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    ),
    ("slack xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx", "AbCdEfGhIjKlMnOpQrStUvWx"),
    (
        "hook https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX",
        "XXXXXXXXXXXXXXXXXXXXXXXX",
    ),
    (
        "openai sk-proj-abcdefghij1234567890T3BlbkFJabcdefghij1234567890",
        "abcdefghij1234567890T3BlbkFJ",
    ),
    ("OPENAI_API_KEY=sk-proj-Abc123Def456Ghi789Jkl012Mno345", "Abc123Def456Ghi789Jkl012Mno345"),
    ("stripe sk_live_4eC39HqLyjWDarjtT1zdp7dc", "4eC39HqLyjWDarjtT1zdp7dc"),
    ("Authorization: Basic dXNlcjpwYXNzd29yZDEyMw==", "dXNlcjpwYXNzd29yZDEyMw=="),
    ("Authorization: Bearer abc.def-ghi_jkl", "abc.def-ghi_jkl"),
    ("postgres://app:S3cretPass@db:5432/x", "S3cretPass"),
    (
        "token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.sflKxwRJSMeKKF2QT4fwpM",
        "sflKxwRJSMeKKF2QT4fwpM",
    ),
    (
        "npm //registry.npmjs.org/:_authToken=npm_abcdefghijklmnopqrstuvwxyz0123456789",
        "npm_abcdefghijklmnopqrstuvwxyz0123456789",
    ),
    (
        "SG.abcdefghijklmnopqrstuv.abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
        "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
    ),
    ("api_key: 'AIzaSyA1b2C3d4E5f6G7h8I9j0KlMnOpQrStUv'", "AIzaSyA1b2C3d4E5f6G7h8I9j0KlMnOpQrStUv"),
]


@pytest.mark.parametrize(("line", "secret"), SHAPES, ids=[s[0][:30] for s in SHAPES])
def test_every_shape_is_masked(line: str, secret: str) -> None:
    """The secret's characters never survive masking, however they were written."""
    assert secret not in mask_text(line)


@pytest.mark.parametrize(
    "line",
    [
        "epoch 3 loss=0.123 acc=0.98",
        "max_tokens=512",
        "tokens: 1024",
        "INFO training started",
        "lr=3e-4 batch=64",
        '{"metrics": {"loss": 0.5, "step": 10}}',
        "100% done",
        "path C:\\\\data\\\\x",
    ],
)
def test_ordinary_output_is_untouched(line: str) -> None:
    """Metrics, counts and settings are not secrets."""
    assert mask_text(line) == line


def test_a_json_escaped_secret_is_masked_and_the_line_stays_json() -> None:
    """A JSON line is masked value by value after decoding: still JSON, secret gone."""
    line = '{"conn": "a?sv=1\\u0026sig=' + SIG + '", "n": 1}'
    masked = mask_text(line)
    assert SIG not in masked
    assert orjson.loads(masked)["n"] == 1


def test_a_password_field_of_a_record_is_masked_whole() -> None:
    """Structured data (a record's extra, a parsed metrics line) masks secret-named fields."""
    assert mask_value({"config": {"password": "p@ss w0rd", "max_tokens": "512"}}) == {
        "config": {"password": "***", "max_tokens": "512"}
    }


PGP = [
    "-----BEGIN PGP PRIVATE KEY BLOCK-----",
    "Version: GnuPG v2",
    "",
    "lQOYBF5Y4qIBCAC9Z8c3b0xYzQ1a2b3c4d5e6f7g8h9i0j1k2l3m4n5o6p7q8r9s0t1",
    "=AbCd",
    "-----END PGP PRIVATE KEY BLOCK-----",
    "after",
]
PREFIXED = [
    f"2026-01-01 12:00:00 INFO {line}"
    for line in [
        "-----BEGIN PRIVATE KEY-----",
        "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7",
        "aGVsbG8gd29ybGQgaGVsbG8gd29ybGQgaGVsbG8gd29ybGQgaGVsbG8gd29y",
        "-----END PRIVATE KEY-----",
    ]
]


@pytest.mark.parametrize("lines", [PGP, PREFIXED], ids=["pgp", "prefixed"])
def test_key_blocks_over_lines_are_masked(lines: list[str]) -> None:
    """Line by line, a PGP block or a PEM block with a prefix on each line leaves only a marker."""
    masker = SecretMasker()
    kept = "\n".join(filter(None, (masker.mask_line(line) for line in lines)))
    assert "lQOYBF5Y" not in kept
    assert "MIIEvQIB" not in kept
    assert "aGVsbG8g" not in kept


def test_a_key_logged_one_line_per_record_is_masked(blob_store: AzureBlobStore) -> None:
    """A private key sent through a logger line by line leaves its marker and nothing else."""
    streamer = LogStreamer(blob_store, JOB, flush_interval=0.05)
    store = blob_store
    log = logging.getLogger("ascend.job")
    with capture_job_output(streamer):
        for line in PREFIXED:
            log.info(line.split(" INFO ", 1)[1])
        log.info("after the key")
    streamer.close()
    text = store.read(log_path(JOB)).data.decode()
    assert "MIIEvQIB" not in text
    assert "aGVsbG8g" not in text
    assert "after the key" in text
