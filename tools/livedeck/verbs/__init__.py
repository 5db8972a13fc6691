"""The use cases a command runs, over the stages: each returns data and prints nothing.

The modules are imported one by one: `build` (the pipeline: deck -> run -> render -> publish ->
check), `watch`, `refresh` and `pullrequest`, `outdated`, `catalog` (`images add`/`list`),
`inventory` (`list`), `preflight` (what a deck needs before it runs), `init`.
"""
