import pytest

from governance.models import Role
from governance.services import role_grant


@pytest.fixture
def steward(make_user):
    user = make_user("steward")
    role_grant(user=user, role=Role.STEWARD)
    return user


@pytest.fixture
def ops(make_user):
    user = make_user("opsperson")
    role_grant(user=user, role=Role.OPS)
    return user
