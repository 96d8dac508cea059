"""Diagnostics' hints: `did you mean`, also against tens of thousands of names."""

import random
import string

from generator.errors import Suggestions, did_you_mean


def _slugs(count: int) -> list[str]:
    chooser = random.Random(7)
    return [f"{''.join(chooser.choices(string.ascii_lowercase, k=5))}-"
            f"{''.join(chooser.choices(string.ascii_lowercase, k=7))}" for _ in range(count)]


def test_did_you_mean_names_the_closest_candidate_or_nothing() -> None:
    assert did_you_mean("fatma", ["jan", "fatima", "piet"]) == "did you mean 'fatima'?"
    assert did_you_mean("xyz", ["jan", "fatima"]) == ""
    assert did_you_mean("fatma", Suggestions(["jan", "fatima"])) == "did you mean 'fatima'?"


def test_a_large_pool_gives_the_hint_a_full_comparison_gives() -> None:
    names = _slugs(5000)
    hints = Suggestions(names)
    typos = [names[i][:3] + names[i][4:] for i in range(0, 5000, 250)]  # a letter left out
    typos += [names[i].replace("-", "_") for i in range(7, 5000, 500)]  # another separator
    typos += ["", "x", "-", "zzzzzzzzzzzzzzzzzzzzzzzz"]
    for word in typos:
        assert hints.hint(word) == did_you_mean(word, names), word
    assert all(hints.hint(word) for word in typos[:20])  # the typos are found


def test_hints_stop_after_the_limit_of_different_words() -> None:
    names = _slugs(1000)
    hints = Suggestions(names, limit=3)
    words = [name[:-1] for name in names[:5]]
    assert [bool(hints.hint(word)) for word in words] == [True, True, True, False, False]
    assert hints.hint(words[0])  # a word asked before keeps its hint
