"""Electronic licenses (电子证照): types, the wallet, presentations, exchange with consent, access log."""
