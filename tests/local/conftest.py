"""One stack for the whole local-backend test session (moto state is per process)."""

import pytest

from local.stack import LocalStack


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    with LocalStack(port=0, workdir=tmp_path_factory.mktemp("stack")) as running:
        yield running
