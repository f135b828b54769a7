"""Properties of the smart robot's media decryption and stream text: every file WeCom seals
(tests/fakes/wecom_smart.py, the scheme of PROTOCOLS.md §8.1) opens to its bytes, a bad
padding or a cut file is refused, and a stream's text never passes 20,480 bytes nor splits
a character."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from bot.channels.wecom_smart_media import decrypt_media, media_key
from bot.channels.wecom_smart_streams import CONTENT_MAX_BYTES, stream_content
from bot.message import Reply, ReplyKind
from tests.conftest import WECHAT_AES_KEY
from tests.fakes.wecom_smart import seal_media

KEY = media_key(WECHAT_AES_KEY)


@given(data=st.binary(max_size=2048))
def test_every_sealed_file_opens_to_its_bytes(data: bytes) -> None:
    sealed = seal_media(data, WECHAT_AES_KEY)
    assert len(sealed) % 32 == 0  # padded to 32-byte blocks, not AES's 16
    assert decrypt_media(sealed, KEY) == data


@given(data=st.binary(max_size=512), pad=st.sampled_from([0, *range(33, 256)]))
def test_a_padding_outside_1_to_32_is_refused(data: bytes, pad: int) -> None:
    sealed = seal_media(data, WECHAT_AES_KEY, pad_value=pad)
    with pytest.raises(ValueError, match="bad padding"):
        decrypt_media(sealed, KEY)


@given(data=st.binary(min_size=1, max_size=512), cut=st.integers(1, 15))
def test_a_file_cut_short_is_refused(data: bytes, cut: int) -> None:
    sealed = seal_media(data, WECHAT_AES_KEY)
    with pytest.raises(ValueError, match="whole AES blocks"):
        decrypt_media(sealed[:-cut], KEY)


WORDS = st.text(st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF), max_size=4000)


@given(texts=st.lists(st.text(max_size=12_000), max_size=4), markdown=st.booleans())
def test_a_streams_text_is_within_its_limit(texts: list[str], markdown: bool) -> None:
    kind = ReplyKind.MARKDOWN if markdown else ReplyKind.TEXT
    content = stream_content([Reply(kind=kind, text=t) for t in texts])
    assert len(content.encode()) <= CONTENT_MAX_BYTES


@given(texts=st.lists(WORDS, max_size=4))
@example(texts=["路" * 7000])  # 21,000 bytes
@example(texts=["路" * 4000, "灯" * 3000])
def test_a_long_answer_is_cut_at_a_characters_edge(texts: list[str]) -> None:
    # Chinese words: three bytes each, nothing in them read as markup
    whole = "\n\n".join(t for t in texts if t)
    content = stream_content([Reply.of_text(t) for t in texts])
    if len(whole.encode()) <= CONTENT_MAX_BYTES:
        assert content == whole
    else:
        assert content.endswith("…")
        assert whole.startswith(content[:-1])
        assert len(content.encode()) > CONTENT_MAX_BYTES - 6  # cut, not emptied
