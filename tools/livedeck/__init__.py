"""livedeck: run the terminal transcripts of Marp decks on a real lab host and publish them."""

__version__ = "0.1.0"
