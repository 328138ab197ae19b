#!/bin/sh
# azd postprovision: create or update the search index from infra/generated/search-index.json
# (generated from shared/documents.py FIELDS by `make infra`), with the deployer's Entra ID token.
# Without azd: export ASCEND_SEARCH_ENDPOINT and run this script from the repository root.
set -eu
: "${ASCEND_SEARCH_ENDPOINT:?is not set: run azd provision (or export it) first}"
API_VERSION="2026-04-01"
BODY="infra/generated/search-index.json"
INDEX=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['name'])" "$BODY")
URL="${ASCEND_SEARCH_ENDPOINT%/}/indexes/${INDEX}?api-version=${API_VERSION}"

# A role assigned seconds ago can take a few minutes to apply: retry for up to 5 minutes.
attempt=1
until az rest --method put --url "$URL" --resource "https://search.azure.com" \
        --headers "Content-Type=application/json" --body "@${BODY}" --output none; do
  if [ "$attempt" -ge 10 ]; then
    echo "postprovision: could not create index ${INDEX} at ${ASCEND_SEARCH_ENDPOINT}" >&2
    exit 1
  fi
  echo "postprovision: index not created yet (attempt ${attempt}); retrying in 30 s" >&2
  attempt=$((attempt + 1))
  sleep 30
done
echo "postprovision: index ${INDEX} is ready at ${ASCEND_SEARCH_ENDPOINT}"
