"""The cluster layer: every Kubernetes object and value the stack applies, as
plain data from pure functions of the spec.

Teams (:mod:`.tenancy`), Spark (:mod:`.spark`), the grid's contract and
chart values (:mod:`.grid`), scheduling on the node pools
(:mod:`.scheduling`), Pod Security (:mod:`.pod_security`), the remote
charts' values (:mod:`.charts`) and quota sanity (:mod:`.quota`). Nothing
here imports Pulumi or a cloud SDK: `kubegrid render` and the tests use it
without either.
"""
