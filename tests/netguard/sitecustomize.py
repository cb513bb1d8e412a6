# Loaded by every Python subprocess the test suite starts (tests/conftest.py puts this
# folder on PYTHONPATH): refuse and record non-loopback connections.
try:
    from fieldguide_site import netguard

    netguard.install()
except Exception:  # never break interpreter start-up
    pass
