"""Relief routing test app: only the relief routing blueprints (and the sandbox view), so these
tests run isolated from the other workflows while those are being built."""

from tests.support.workflow_apps import workflow_test_app
from workflow_catalogue import RELIEF_ROUTING

app = workflow_test_app(RELIEF_ROUTING, personal_data_retention=False)
