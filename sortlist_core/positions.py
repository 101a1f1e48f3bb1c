"""The one position numbering the app shows: the sequence position, as the write-up uses it.

A sequence is `unsorted + [SEP] + sorted` of `2 * list_len + 1` tokens. With `list_len` = 10:

- positions 0..9 hold the unsorted list, position 10 holds `SEP`, positions 11..20 the sorted list;
- the sorted list's k-th token (1-based) sits at position `list_len + k`: position 15 holds the
  5th sorted token;
- predictions are made at positions 10..19 (`SEP` .. the second-to-last token); the prediction
  made at position p is of the token at p + 1, so position 10 (`SEP`) predicts the 1st sorted
  token and position 15 the 6th.

Every question, option, answer field, feedback message, figure axis and table names a prediction
by the position where it is made (10..19). Analyses keep 0-based *row indices* into their arrays
(`SequencePrediction.wrong`, `Metrics.per_position_accuracy`); `prediction_position` and
`prediction_row` convert between the two, so no page does that arithmetic itself.
"""

from __future__ import annotations


def sep_position(list_len: int) -> int:
    """Where `SEP` sits (10 for lists of 10)."""
    return list_len


def prediction_positions(list_len: int) -> range:
    """The positions that make a prediction: `SEP` .. the second-to-last token (10..19)."""
    return range(list_len, 2 * list_len)


def prediction_position(row: int, list_len: int) -> int:
    """Row `row` (0 = the prediction made at SEP) of a prediction array -> its sequence position."""
    if not 0 <= row < list_len:
        raise ValueError(f"prediction row {row} is outside 0..{list_len - 1}")
    return list_len + row


def prediction_row(position: int, list_len: int) -> int:
    """A prediction's sequence position (10..19) -> its row in a prediction array (0..9)."""
    if position not in prediction_positions(list_len):
        raise ValueError(
            f"position {position} makes no prediction (predictions are made at {list_len}..{2 * list_len - 1})"
        )
    return position - list_len


def ordinal(n: int) -> str:
    """1 -> '1st', 2 -> '2nd', 11 -> '11th', 23 -> '23rd'."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def position_label(position: int, list_len: int) -> str:
    """An axis label: the number, with SEP named ('10 (SEP)', '15')."""
    return f"{position} (SEP)" if position == sep_position(list_len) else str(position)


def position_labels(list_len: int) -> list[str]:
    """Axis labels of every position 0..2*list_len ('10 (SEP)' for SEP)."""
    return [position_label(p, list_len) for p in range(2 * list_len + 1)]


def token_at(position: int, list_len: int) -> str:
    """What sits at `position`: 'the 3rd unsorted token', 'SEP', 'the 5th sorted token'."""
    if position < list_len:
        return f"the {ordinal(position + 1)} unsorted token"
    if position == list_len:
        return "SEP"
    return f"the {ordinal(position - list_len)} sorted token"


def describe_prediction_position(position: int, list_len: int) -> str:
    """The second form next to the number: 'position 15 (the 5th sorted token, predicting the
    6th)'; 'position 10 (SEP, predicting the 1st sorted token)'."""
    predicted = ordinal(position - list_len + 1)
    if position == sep_position(list_len):
        return f"position {position} (SEP, predicting the 1st sorted token)"
    return f"position {position} ({token_at(position, list_len)}, predicting the {predicted})"
