"""Installers: the model catalog (data) and one module per installer kind."""
