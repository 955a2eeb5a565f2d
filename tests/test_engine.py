"""Unit tests of the engine's pieces: source, parsing, values, edit builders, apply and verify."""

from __future__ import annotations

import time

import pytest

from remediate.yaml import layout
from remediate.yaml.apply import apply, choose, collides
from remediate.yaml.document import Mapping, content_end, parse
from remediate.yaml.edits import Editor, Uneditable
from remediate.yaml.model import Edit, Fix, Touch
from remediate.yaml.render import scalar
from remediate.yaml.source import InputError, Source
from remediate.yaml.values import is_plain_string, to_data
from remediate.yaml.verify import VerificationError, verify


def editor_for(text: str, name: str = "x.yaml") -> tuple[Editor, list]:
    source = Source.from_text(name, text)
    documents = parse(source.text)
    is_json = name.endswith(".json")
    detected = layout.detect(documents, json=is_json, newline=source.newline)
    return Editor(source.text, detected, documents), documents


def applied(text: str, change, name: str = "x.yaml") -> str:
    """Apply one change and verify it, as the runner does."""
    fix = Fix("test", change.edits, change.touches)
    new = apply(text, [fix])
    verify(parse(text), new, [fix])
    return new


# -- source ------------------------------------------------------------------------------------


def test_source_keeps_bom_and_crlf_and_positions() -> None:
    source = Source.from_bytes("a.yaml", b"\xef\xbb\xbfa: 1\r\nb: 2\r\n")
    assert source.bom and source.newline == "\r\n" and source.text == "a: 1\r\nb: 2\r\n"
    assert source.to_bytes() == b"\xef\xbb\xbfa: 1\r\nb: 2\r\n"
    assert source.position(6) == (2, 1)


def test_non_utf8_names_the_byte_and_position() -> None:
    with pytest.raises(InputError) as caught:
        Source.from_bytes("a.yaml", b"a: 1\nb: caf\xe9\n")
    assert caught.value.line == 2 and caught.value.column == 7
    assert "0xe9" in caught.value.message


# -- parsing -----------------------------------------------------------------------------------


def test_nodes_know_positions_paths_and_merges() -> None:
    text = "base: &b {x: 1}\nitems:\n- <<: *b\n  name: web\n"
    (document,) = parse(text)
    root = document.root
    assert isinstance(root, Mapping)
    item = root.get("items").items[0]
    assert item.path() == ("items", 0)
    assert item.get("x").data == 1 and item.get("name").data == "web"
    assert item.line == 2 and item.column == 2
    assert root.get("base").shared
    assert to_data(root)["items"][0] == {"x": 1, "name": "web"}


def test_duplicate_keys_are_refused_with_both_positions() -> None:
    with pytest.raises(InputError) as caught:
        parse("a:\n  requests: 1\n  requests: 2\n")
    assert (caught.value.line, caught.value.column) == (3, 3)
    assert "first defined at line 2, column 3" in caught.value.message


def test_deep_nesting_is_refused_without_crashing() -> None:
    with pytest.raises(InputError, match="nesting deeper than"):
        parse("[" * 100_000 + "]" * 100_000)
    with pytest.raises(InputError, match="nesting deeper than"):
        parse("- " * 10_000 + "x\n")


def test_alias_bomb_is_refused_fast() -> None:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in range(1, 9):
        previous = chr(ord("a") + level - 1)
        name = chr(ord("a") + level)
        lines.append(f"{name}: &{name} [{', '.join(['*' + previous] * 9)}]")
    started = time.perf_counter()
    with pytest.raises(InputError, match="billion laughs"):
        parse("\n".join(lines) + "\n")
    assert time.perf_counter() - started < 5  # a guard against hanging, not a benchmark


def test_recursive_and_unknown_aliases() -> None:
    with pytest.raises(InputError, match="recursive alias"):
        parse("a: &x [1, *x]\n")
    with pytest.raises(InputError, match="refers to no anchor"):
        parse("a: *nothing\n")


def test_tab_indentation_says_what_to_change() -> None:
    with pytest.raises(InputError) as caught:
        parse("a:\n\tb: 1\n")
    assert "tab" in caught.value.message.lower()


def test_block_collection_content_ends_at_its_last_value() -> None:
    text = "a:\n  b: 1\n  # trailing comment\nc: 2\n"
    (document,) = parse(text)
    assert text[: content_end(document.root.get("a"))].endswith("b: 1")


# -- values ------------------------------------------------------------------------------------


def test_only_unambiguous_strings_are_plain() -> None:
    assert is_plain_string("Always") and is_plain_string("100m")
    assert not is_plain_string("yes") and not is_plain_string("0400") and not is_plain_string("null")


@pytest.mark.parametrize(
    "text",
    [
        "1e3",
        "1E3",
        "1e-3",
        "6.02e23",
        "1.0e3",
        "0o17",
        "2001-12-14",
        "2001-12-14T10:00:00Z",
        "1:20",
        ".5",
        "1_000",
        ".NaN",
    ],
)
def test_strings_another_yaml_reader_takes_for_numbers_or_dates_are_quoted(text: str) -> None:
    """Kubernetes reads YAML with go-yaml, which takes ``1e3`` for a float and a date for a
    timestamp: a label value copied into a new selector must keep its quotes."""
    assert not is_plain_string(text)
    assert scalar(text) == f'"{text}"'


@pytest.mark.parametrize(
    "text", ["v1.2.3", "1.2.3", "10.0.0.1", "nginx:1.25", "a-1e3", "2001-12", "web-2001-12-14"]
)
def test_version_like_strings_stay_plain(text: str) -> None:
    assert is_plain_string(text) and scalar(text) == text


# -- edit builders -----------------------------------------------------------------------------


def test_insert_after_a_key_keeps_its_comment() -> None:
    text = "c:\n  name: a\n  image: b  # pinned\n  # about ports\n  ports: []\n"
    editor, docs = editor_for(text)
    change = editor.insert_key(docs[0].root.get("c"), "imagePullPolicy", "Always", after=("image",))
    assert applied(text, change) == (
        "c:\n  name: a\n  image: b  # pinned\n  imagePullPolicy: Always\n  # about ports\n  ports: []\n"
    )


def test_comments_indented_under_the_last_value_stay_with_it() -> None:
    text = "c:\n  env:\n  - name: A\n  # - name: B  (disabled)\n  #   value: 2\n# the end\n"
    editor, docs = editor_for(text)
    change = editor.insert_key(docs[0].root.get("c"), "imagePullPolicy", "Always")
    assert applied(text, change) == (
        "c:\n  env:\n  - name: A\n  # - name: B  (disabled)\n  #   value: 2\n"
        "  imagePullPolicy: Always\n# the end\n"
    )


def test_a_new_entry_of_a_spread_flow_mapping_leaves_the_comment_on_the_line_above() -> None:
    text = 'c: {\n    name: a,\n    image: "x:1",  # pinned by CI\n    ports: []\n  }\n'
    editor, docs = editor_for(text)
    change = editor.add_key(docs[0].root.get("c"), "imagePullPolicy", "Always", after=("image",))
    assert applied(text, change) == (
        'c: {\n    name: a,\n    image: "x:1",  # pinned by CI\n'
        "    imagePullPolicy: Always,\n    ports: []\n  }\n"
    )


def test_insert_nested_value_uses_the_files_indentation() -> None:
    text = "spec:\n    containers:\n    -   name: a\n        ports:\n        - containerPort: 1\n"
    editor, docs = editor_for(text)
    container = docs[0].root.get("spec").get("containers").items[0]
    change = editor.insert_key(container, "resources", {"limits": {"cpu": "1"}, "args": ["x", "yes"]})
    assert applied(text, change).endswith(
        '        resources:\n            limits:\n                cpu: "1"\n            args:\n'
        '            - x\n            - "yes"\n'
    )


def test_insert_into_flow_and_json_mappings() -> None:
    text = "c: [{name: a, image: b}]\n"
    editor, docs = editor_for(text)
    change = editor.insert_key(docs[0].root.get("c").items[0], "k", {"a": [1]})
    assert applied(text, change) == "c: [{name: a, image: b, k: {a: [1]}}]\n"
    text = '{\n  "a": {\n    "b": 1\n  }\n}\n'
    editor, docs = editor_for(text, "x.json")
    change = editor.insert_key(docs[0].root.get("a"), "c", {"d": "e"})
    assert applied(text, change) == '{\n  "a": {\n    "b": 1,\n    "c": {\n      "d": "e"\n    }\n  }\n}\n'


def test_insert_at_end_of_file_without_newline() -> None:
    text = "a:\n  b: 1"
    editor, docs = editor_for(text)
    assert applied(text, editor.insert_key(docs[0].root.get("a"), "c", 2)) == "a:\n  b: 1\n  c: 2"


def test_set_value_keeps_quotes_and_handles_empty_values() -> None:
    text = "a: 'x'\nb: \"y\"\nc:\nd: ~ # none\n"
    editor, docs = editor_for(text)
    root = docs[0].root
    assert applied(text, editor.set_value(root, "a", "z")) == "a: 'z'\nb: \"y\"\nc:\nd: ~ # none\n"
    assert applied(text, editor.set_value(root, "b", "z")) == "a: 'x'\nb: \"z\"\nc:\nd: ~ # none\n"
    assert applied(text, editor.set_value(root, "c", "z")) == "a: 'x'\nb: \"y\"\nc: z\nd: ~ # none\n"
    assert applied(text, editor.set_value(root, "d", {"e": 1})) == "a: 'x'\nb: \"y\"\nc:\nd: # none\n  e: 1\n"


def test_append_item_block_and_flow() -> None:
    text = "a:\n- x\nb: [y]\nc: []\n"
    editor, docs = editor_for(text)
    root = docs[0].root
    assert applied(text, editor.append_item(root.get("a"), "ALL")) == "a:\n- x\n- ALL\nb: [y]\nc: []\n"
    assert applied(text, editor.append_item(root.get("b"), "ALL")) == "a:\n- x\nb: [y, ALL]\nc: []\n"
    assert applied(text, editor.append_item(root.get("c"), "ALL")) == "a:\n- x\nb: [y]\nc: [ALL]\n"


def test_append_items_is_one_change_that_claims_one_index_per_item() -> None:
    text = "a:\n- x\nb: [y]\nc: []\n"
    editor, docs = editor_for(text)
    root = docs[0].root
    change = editor.append_items(root.get("a"), ["p", {"q": 1}])
    assert applied(text, change) == "a:\n- x\n- p\n- q: 1\nb: [y]\nc: []\n"
    assert [touch.path for touch in change.touches] == [("a", 1), ("a", 2)]
    assert applied(text, editor.append_items(root.get("b"), ["p", "q"])) == "a:\n- x\nb: [y, p, q]\nc: []\n"
    assert applied(text, editor.append_items(root.get("c"), ["p", "q"])) == "a:\n- x\nb: [y]\nc: [p, q]\n"


def test_items_appended_where_a_key_is_added_go_before_the_key() -> None:
    """A list written flush with its key ends where its mapping does: new items go before a new
    key at that point, whichever fix comes first."""
    text = "c:\n  m:\n  - x\nd: 1\n"
    editor, docs = editor_for(text)
    inner = docs[0].root.get("c")
    key = editor.add_key(inner, "k", 1)
    item = editor.append_item(inner.get("m"), "z")
    expected = "c:\n  m:\n  - x\n  - z\n  k: 1\nd: 1\n"
    for order in ([key, item], [item, key]):
        fixes = [Fix(f"f{i}", change.edits, change.touches) for i, change in enumerate(order)]
        assert apply(text, fixes) == expected


def test_append_document_after_missing_final_newline_and_crlf() -> None:
    text = "a: 1\r\nb: 2"
    editor, _ = editor_for(text)
    assert applied(text, editor.append_documents([({"kind": "X"}, None)])) == "a: 1\r\nb: 2\r\n---\r\nkind: X"


def test_shared_anchor_is_not_edited() -> None:
    text = "a: &x {b: 1}\nc: *x\n"
    editor, docs = editor_for(text)
    with pytest.raises(Uneditable, match="anchor"):
        editor.insert_key(docs[0].root.get("a"), "d", 1)


# -- apply and verify --------------------------------------------------------------------------


def _fix(start: int, end: int, path: tuple, new: str = "x") -> Fix:
    return Fix("t", (Edit(start, end, new),), (Touch(0, path, None),))


def test_collisions() -> None:
    assert collides(_fix(0, 5, ("a",)), _fix(3, 3, ("b",)))
    assert not collides(_fix(5, 5, ("a",)), _fix(5, 5, ("b",)))
    assert collides(_fix(1, 1, ("a",)), _fix(9, 9, ("a", "b")))
    fixes = [_fix(1, 1, ("a",)), _fix(2, 2, ("a", "b")), _fix(3, 3, ("c",))]
    assert choose(fixes) == [fixes[0], fixes[2]]  # the second waits: it touches a path inside the first's
    assert apply("0123", [_fix(1, 1, ("a",), "A"), _fix(1, 1, ("b",), "B")]) == "0AB123"


def test_verify_rejects_undeclared_changes_and_wrong_values() -> None:
    before = parse("a: 1\nb: 2\n")
    declared = Fix("t", (), (Touch(0, ("a",), 5),))
    assert verify(before, "a: 5\nb: 2\n", [declared])
    with pytest.raises(VerificationError, match=r"unexpected change at \.b"):
        verify(before, "a: 5\nb: 3\n", [declared])
    with pytest.raises(VerificationError, match="should read 5"):
        verify(before, "a: '5'\nb: 2\n", [declared])
    with pytest.raises(VerificationError, match="does not parse"):
        verify(before, "a: [\n", [declared])
    with pytest.raises(VerificationError, match="documents"):
        verify(before, "a: 5\nb: 2\n---\nc: 1\n", [declared])
