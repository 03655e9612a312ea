"""The chapters' shared display helper for derivations."""

from gan_tutorial import notebook


def test_a_step_label_alternates_text_and_math():
    expected = r"\text{solve }f'(y) = 0\text{ for y}:\quad y = 1"
    assert notebook.step_latex(r"solve $f'(y) = 0$ for y", "y = 1") == expected
    assert notebook.step_latex("definition", r"V = 0") == r"\text{definition}:\quad V = 0"


def test_show_steps_displays_one_math_line_per_step(monkeypatch):
    import IPython.display

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda obj: shown.append(obj))
    notebook.show_steps([("a", "1"), ("b $x$", "2")])
    assert [m.data for m in shown] == [r"\text{a}:\quad 1", r"\text{b }x:\quad 2"]
