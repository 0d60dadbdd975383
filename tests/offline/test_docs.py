"""docs/configuration.md documents every key the spec reads, as the code declares it."""

from components.offline.docs import BEGIN, DOC, END, reference, replace_section


def test_reference_in_docs_matches_the_code():
    text = DOC.read_text(encoding="utf-8")
    assert replace_section(text, reference()) == text, "run: python -m components.offline.docs"


def test_reference_has_every_key_with_type_and_default():
    ref = reference()
    for key in ("kubegrid:cluster.mode", "kubegrid:nodePools[].maxSize", "kubegrid:nodePools[].taints[].effect",
                "kubegrid:grid.managers", "kubegrid:teams[].quota.gpus", "kubegrid:teams[].s3Access"):
        assert f"| `{key}` |" in ref
    assert "| `kubegrid:grid.managers` | integer | `1` |" in ref
    assert "| `kubegrid:nodePools[].minSize` | integer | required |" in ref
    assert BEGIN in DOC.read_text() and END in DOC.read_text()
