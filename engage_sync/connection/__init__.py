"""The Connection page's data: what it holds (`model`) and how it is read (`gather`)."""
