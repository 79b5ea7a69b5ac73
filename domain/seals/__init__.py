"""Electronic seals (电子印章): the registry and sealing/verification of documents."""
