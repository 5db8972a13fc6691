"""A course: decks that continue another's lab, parallel labs and the course book.

The modules are imported one by one. The course config is read at the deck stage
(deck/course.py); `livedeck init`, which writes it, is a verb (verbs/init.py).
"""
