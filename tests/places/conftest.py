from ..incidents.conftest import coded  # noqa: F401  (the incidents tests' world with positioned stations)
