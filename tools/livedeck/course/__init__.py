"""A course: a folder of decks with one config, decks that continue another's lab, parallel
labs and the course book. The modules are imported one by one (config is the deck stage's)."""
