"""The code-matching rule of re-verification, on made-up code (no compiler, no chain)."""

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from p2p_energy.export.verify import match

pytestmark = pytest.mark.slow  # starts a chain, a cluster or the compiler (docs/tests.md)

CBOR_TAIL = bytes(51) + (51).to_bytes(2)  # a 51-byte CBOR metadata blob and its length, as solc ends runtime code


@st.composite
def code_with_immutables(draw):
    body = draw(st.binary(min_size=64, max_size=400))
    starts = sorted(draw(st.sets(st.integers(0, len(body) // 32 - 1), max_size=4)))
    places = [range(32 * i, 32 * i + 32) for i in starts]
    built = bytearray(body)
    for place in places:
        built[place.start : place.stop] = bytes(32)  # solc leaves zeros where an immutable goes
    return bytes(built) + CBOR_TAIL, places


@given(code_with_immutables(), st.data())
def test_code_with_any_values_in_its_immutables_matches_in_full(compiled, data):
    built, places = compiled
    deployed = bytearray(built)
    for place in places:
        deployed[place.start : place.stop] = data.draw(st.binary(min_size=32, max_size=32))
    assert match(built, places, bytes(deployed)) == "full"


@given(code_with_immutables(), st.data())
def test_a_changed_byte_outside_the_immutables_and_the_tail_never_matches(compiled, data):
    built, places = compiled
    changed = data.draw(st.integers(0, len(built) - len(CBOR_TAIL) - 1))
    assume(not any(changed in place for place in places))
    deployed = bytearray(built)
    deployed[changed] ^= 0xFF
    assert match(built, places, bytes(deployed)) is None
