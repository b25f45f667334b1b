"""Validated configuration: camera profiles and experiments, loaded from TOML.

``loading`` reads TOML, applies ``--set key=value`` overrides and turns pydantic's
validation errors into one-line :class:`~evalharness.errors.ConfigError` messages that
name the file, the field, what is wrong and what is allowed.
"""
