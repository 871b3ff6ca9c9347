"""The clocks, the Argon2id hasher, the platform secret and the random sources (T1, A3, M4)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import argon2
import freezegun
import pytest

from peps_onboarding.adapters.argon2 import Argon2PasswordHasher
from peps_onboarding.adapters.clock import FakeClock, SystemClock
from peps_onboarding.adapters.randomness import SeededRandomSource
from peps_onboarding.application.secrets import PlatformSecret
from peps_onboarding.testing import PASSWORD, START

KEY = b"k" * 32
NONCE, OTHER_NONCE = "00" * 16, "01" * 16

# --- clocks -------------------------------------------------------------------------------


@pytest.mark.rule("T1")
def test_the_system_clock_reads_the_real_time_aware_and_in_utc() -> None:
    """Rule T1: under a frozen real clock, ``SystemClock.now()`` is that instant, in UTC."""
    with freezegun.freeze_time("2024-03-21 09:30:00"):
        now = SystemClock().now()
    assert now == datetime(2024, 3, 21, 9, 30, tzinfo=UTC)
    assert now.tzinfo is not None
    assert now.utcoffset() == timedelta(0)


@pytest.mark.rule("T1")
def test_the_fake_clock_refuses_a_naive_start() -> None:
    """Rule T1: a naive datetime is ambiguous, so the fake clock refuses it."""
    with pytest.raises(ValueError, match="aware"):
        FakeClock(datetime(2024, 3, 13, 9, 30))


@pytest.mark.rule("T1")
def test_the_fake_clock_refuses_to_be_set_to_a_naive_moment() -> None:
    """Rule T1: ``set`` refuses a naive datetime too."""
    clock = FakeClock(START)
    with pytest.raises(ValueError, match="aware"):
        clock.set(datetime(2024, 3, 14, 9, 30))
    assert clock.now() == START


@pytest.mark.rule("T1")
def test_the_fake_clock_never_goes_backwards() -> None:
    """Rule T1: neither a negative advance nor setting an earlier moment is allowed."""
    clock = FakeClock(START)
    with pytest.raises(ValueError, match="backwards"):
        clock.advance(timedelta(seconds=-1))
    with pytest.raises(ValueError, match="backwards"):
        clock.set(START - timedelta(days=1))
    assert clock.now() == START


@pytest.mark.rule("T1")
def test_the_fake_clock_moves_only_when_told_and_normalises_to_utc() -> None:
    """Rule T1: a Paris start is kept as the same instant in UTC; it moves only on demand."""
    clock = FakeClock(datetime(2024, 3, 13, 10, 30, tzinfo=ZoneInfo("Europe/Paris")))
    assert clock.now() == START
    assert clock.now().utcoffset() == timedelta(0)
    assert clock.now() == clock.now()
    assert clock.advance(timedelta(days=8)) == START + timedelta(days=8)
    assert clock.set(START + timedelta(days=15)) == START + timedelta(days=15)


# --- Argon2id -----------------------------------------------------------------------------


@pytest.mark.rule("A3")
def test_passwords_are_hashed_with_argon2id() -> None:
    """Rule A3: the stored hash is Argon2id, salted, without the password."""
    password_hash = Argon2PasswordHasher.fast_for_tests().hash(PASSWORD)
    assert password_hash.startswith("$argon2id$")
    assert PASSWORD not in password_hash


@pytest.mark.rule("A3")
def test_a_cheap_hash_still_verifies_with_the_default_hasher_which_asks_for_a_rehash() -> None:
    """Rule A3: parameters travel in the hash; weaker ones are flagged for a rehash."""
    cheap = Argon2PasswordHasher.fast_for_tests().hash(PASSWORD)
    default = Argon2PasswordHasher()
    assert default.verify(cheap, PASSWORD) is True
    assert default.verify(cheap, "Motdepasse-2") is False
    assert default.needs_rehash(cheap) is True


@pytest.mark.rule("A3")
def test_the_default_hasher_uses_argon2_cffis_defaults() -> None:
    """Rule A3: production parameters are argon2-cffi's (RFC 9106 low-memory profile)."""
    password_hash = Argon2PasswordHasher().hash(PASSWORD)  # one real hash, ~120 ms
    params = argon2.extract_parameters(password_hash)
    assert params.type is argon2.Type.ID
    assert params.memory_cost >= 64 * 1024


@pytest.mark.rule("A3")
def test_a_garbage_hash_never_verifies_and_never_raises() -> None:
    """Rule A3: a hash that is not an Argon2 hash verifies False and asks for a rehash."""
    hasher = Argon2PasswordHasher.fast_for_tests()
    for garbage in ("", "garbage", "$argon2id$v=19$m=8,t=1,p=1$AAAA$AAAA", "$2b$12$abc"):
        assert hasher.verify(garbage, PASSWORD) is False
        assert hasher.needs_rehash(garbage) is True


# --- the platform secret ------------------------------------------------------------------


@pytest.mark.rule("M4")
def test_the_platform_secret_refuses_a_key_shorter_than_32_bytes() -> None:
    """Rule M4: link tokens are only as strong as the key that derives them."""
    with pytest.raises(ValueError, match="32 bytes"):
        PlatformSecret(b"k" * 31)
    PlatformSecret(KEY)


@pytest.mark.rule("M4", "A8")
def test_a_link_token_is_deterministic_per_nonce_and_differs_between_nonces() -> None:
    """Rules M4, A8: the token is derived again at delivery; each nonce has its own."""
    secret = PlatformSecret(KEY)
    token = secret.token_for(NONCE)
    assert token == secret.token_for(NONCE)
    assert token == PlatformSecret(KEY).token_for(NONCE)
    assert token != secret.token_for(OTHER_NONCE)
    assert len(token) >= 22  # 128 bits at least, URL-safe base64
    assert token.replace("-", "").replace("_", "").isalnum()
    assert NONCE not in token


@pytest.mark.rule("M4")
def test_a_link_token_depends_on_the_key() -> None:
    """Rule M4: without the key, the stored nonce gives no usable link."""
    assert PlatformSecret(KEY).token_for(NONCE) != PlatformSecret(b"o" * 32).token_for(NONCE)


@pytest.mark.rule("M4")
def test_the_platform_secret_never_shows_its_key() -> None:
    """Rule M4: repr and str hide the key (logs, tracebacks)."""
    secret = PlatformSecret(KEY)
    assert repr(secret) == "PlatformSecret(***)"
    assert "kkkk" not in repr(secret)
    assert "kkkk" not in str(secret)


@pytest.mark.rule("N1")
def test_signed_tickets_verify_and_tampering_is_detected() -> None:
    """Rule N1: the Net-Entreprises ticket is signed; a changed payload or key fails."""
    secret = PlatformSecret(KEY)
    signature = secret.sign("21330063500017|Martin|Paul")
    assert secret.verify("21330063500017|Martin|Paul", signature) is True
    assert secret.verify("21330063500017|Martin|Pierre", signature) is False
    assert PlatformSecret(b"o" * 32).verify("21330063500017|Martin|Paul", signature) is False


# --- random sources -----------------------------------------------------------------------


@pytest.mark.rule("A8")
def test_the_seeded_random_source_is_reproducible() -> None:
    """Rule A8 (tests only): the same seed draws the same bytes; another seed, others."""
    first, again, other = SeededRandomSource(7), SeededRandomSource(7), SeededRandomSource(8)
    drawn = [first.token_bytes(16) for _ in range(3)]
    assert drawn == [again.token_bytes(16) for _ in range(3)]
    assert drawn != [other.token_bytes(16) for _ in range(3)]
    assert len(set(drawn)) == 3
