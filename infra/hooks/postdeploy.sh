#!/bin/sh
# azd postdeploy: Event Grid validates an AzureFunction endpoint when the subscription is created,
# so the subscription can only exist once the code is deployed. The first `azd up` deploys the
# code, then provisions once more with the subscription switched on.
set -eu
if [ "${DEPLOY_EVENT_SUBSCRIPTION:-false}" != "true" ]; then
  azd env set DEPLOY_EVENT_SUBSCRIPTION true
  azd provision --no-prompt
fi
