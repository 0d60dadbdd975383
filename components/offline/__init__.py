"""The offline tools, on top of everything: the `kubegrid` CLI (plan, render,
check), the mock runner and its placeholders, and the docs generators."""
