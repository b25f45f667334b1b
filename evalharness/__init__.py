"""evalharness: can a driver be identified from roadside ANPR camera images?

The package is laid out as the pipeline runs, and data flows one way through it:

``data`` (identity-labelled photographs) -> ``camera`` (what a configured camera stores)
-> ``models`` (face detection and embeddings) -> ``evaluation`` (protocol, metrics, runs)
-> ``report`` (plots, contact sheets, HTML/PDF). ``config`` holds the validated TOML models
and ``cli`` the command-line front end.
"""

__version__ = "0.1.0"
