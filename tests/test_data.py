"""The input pipeline: feature cache, batch plans, padded batches, SpecAugment."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import tensorflow as tf

from asr import Alphabet, FeatureConfig, Utterance
from asr.augmentation import Channel, PitchShift
from asr.data import (BatchPlan, FeatureTable, Perturbation, SpecAugment, apply_spec_augment, cached_features,
                      fit_normalizer, make_dataset)
from asr.frequency_warp import FrequencyWarp
from conftest import tone, write_audio


@pytest.fixture
def utterances(tmp_path):
    made = []
    for i, seconds in enumerate([0.5, 1.2, 0.8]):
        path = write_audio(tmp_path / f"u{i}.wav", tone(seconds, frequency=300 + 100 * i), 16000)
        made.append(Utterance(audio_filepath=path, duration=seconds, text=f"word {i}"))
    return made


def test_features_are_cached_and_recomputed_when_audio_changes(tmp_path, utterances):
    config = FeatureConfig(kind="logmel")
    table = cached_features(utterances, config, cache_dir=tmp_path / "cache", workers=1)
    assert [int(n) for n in table.lengths] == [config.num_frames(int(u.duration * 16000)) for u in utterances]
    assert table.values.shape == (table.lengths.sum(), 80)
    again = cached_features(utterances, config, cache_dir=tmp_path / "cache", workers=1)
    np.testing.assert_array_equal(again.values, table.values)
    assert len(list((tmp_path / "cache").iterdir())) == 1
    write_audio(utterances[0].audio_filepath, tone(0.7), 16000)
    changed = cached_features(utterances, config, cache_dir=tmp_path / "cache", workers=1)
    assert changed.lengths[0] == config.num_frames(int(0.7 * 16000))
    assert len(list((tmp_path / "cache").iterdir())) == 2


def test_speed_perturbation_changes_the_length(tmp_path, utterances):
    config = FeatureConfig(kind="logmel")
    plain = cached_features(utterances, config, cache_dir=tmp_path, workers=1)
    fast = cached_features(utterances, config, cache_dir=tmp_path, perturbation=Perturbation(speed=1.25), workers=1)
    np.testing.assert_allclose(fast.lengths, plain.lengths / 1.25, atol=3)


def test_noise_perturbation_keeps_the_length_and_changes_the_features(tmp_path, utterances):
    config = FeatureConfig(kind="logmel")
    plain = cached_features(utterances, config, cache_dir=tmp_path, workers=1)
    noisy = cached_features(utterances, config, cache_dir=tmp_path, perturbation=Perturbation(noise_snr_db=5),
                            workers=1)
    np.testing.assert_array_equal(noisy.lengths, plain.lengths)
    assert not np.allclose(noisy.utterance(1), plain.utterance(1))


def test_an_augmentation_is_a_cached_copy_of_its_own_drawn_per_utterance(tmp_path, utterances):
    config = FeatureConfig(kind="logmel")
    plain = cached_features(utterances, config, cache_dir=tmp_path / "cache", workers=1)
    pitched = Perturbation(augmentation=PitchShift(max_semitones=4.0), seed=3)
    shifted = cached_features(utterances, config, cache_dir=tmp_path / "cache", perturbation=pitched, workers=1)
    phone = cached_features(utterances, config, cache_dir=tmp_path / "cache", workers=1,
                            perturbation=Perturbation(augmentation=Channel(kinds=("telephone",)), seed=3))
    assert len(list((tmp_path / "cache").iterdir())) == 3  # one cache each
    np.testing.assert_array_equal(shifted.lengths, plain.lengths)
    for index in range(len(utterances)):
        assert not np.allclose(shifted.utterance(index), plain.utterance(index), atol=0.1)
        assert not np.allclose(phone.utterance(index), shifted.utterance(index), atol=0.1)
    again = cached_features(utterances, config, cache_dir=tmp_path / "again", perturbation=pitched, workers=1)
    np.testing.assert_array_equal(again.values, shifted.values)  # the same seed draws the same shifts


def test_unreadable_audio_gets_length_zero_and_a_warning(tmp_path, utterances, caplog):
    utterances[1].audio_filepath.write_bytes(b"not audio at all" * 10)
    with caplog.at_level(logging.WARNING):
        table = cached_features(utterances, FeatureConfig(), cache_dir=tmp_path / "c", workers=1)
    assert table.lengths[1] == 0 and table.lengths[0] > 0 and table.lengths[2] > 0
    assert str(utterances[1].audio_filepath) in caplog.text
    np.testing.assert_array_equal(table.utterance(2).shape, (table.lengths[2], 161))


def _plan(rng, **options):
    lengths = rng.integers(50, 800, size=(3, 200))
    lengths[:, 7] = 0
    return BatchPlan(lengths=lengths, **options)


def test_every_epoch_has_each_utterance_once_within_the_budgets(rng):
    plan = _plan(rng, max_frames=4000, max_batch=16)
    for epoch in range(3):
        rows = np.concatenate(plan.batches(epoch))
        assert sorted(rows % 200) == [i for i in range(200) if i != 7]
        for batch in plan.batches(epoch):
            longest = plan.lengths.reshape(-1)[batch].max()
            assert len(batch) <= 16 and (len(batch) == 1 or longest * len(batch) <= 4000)


def test_shares_draw_part_of_a_source_each_epoch(rng):
    shares = np.where(np.arange(200) < 100, 0.25, 1.0)
    plan = _plan(rng, max_frames=4000, shares=shares)
    drawn = [np.concatenate(plan.batches(epoch)) % 200 for epoch in range(20)]
    assert all(set(range(100, 200)) - {7} <= set(rows.tolist()) for rows in drawn)  # share 1: every epoch
    fraction = np.mean([np.sum(rows < 100) for rows in drawn]) / 100
    assert 0.18 < fraction < 0.32
    assert len({tuple(sorted(rows[rows < 100])) for rows in drawn}) == 20  # a new draw each epoch


def test_a_plan_without_shares_is_as_before(rng):
    plan = _plan(rng, max_frames=4000)
    everything = BatchPlan(lengths=plan.lengths, max_frames=4000, shares=np.ones(200))
    for epoch in range(3):
        assert sum(len(b) for b in plan.batches(epoch)) == sum(len(b) for b in everything.batches(epoch)) == 199


def test_sortagrad_then_shuffled_buckets(rng):
    plan = _plan(rng, max_frames=4000)
    first = np.concatenate(plan.batches(0))
    assert (np.diff(plan.lengths.reshape(-1)[first]) >= 0).all()  # shortest first
    assert len({int(r) // 200 for r in first}) == 3  # with every perturbed copy drawn: a 1-epoch run sees them
    second = [b.tolist() for b in plan.batches(1)]
    assert second != [b.tolist() for b in plan.batches(2)]
    assert len({int(r) // 200 for r in np.concatenate(plan.batches(1))}) == 3


def test_dataset_batches_are_padded_normalised_and_labelled(rng):
    lengths = np.array([5, 9, 3], dtype=np.int32)
    table = FeatureTable(values=rng.standard_normal((17, 4)).astype(np.float16), lengths=lengths)
    normalizer = fit_normalizer(table)
    alphabet = Alphabet()
    labels = [alphabet.encode(t) for t in ("ab", "hello", "c")]
    plan = BatchPlan(lengths=lengths[None], max_frames=100)
    (batch,) = list(make_dataset([table], labels, plan, normalizer=normalizer))
    order = np.argsort(lengths)
    np.testing.assert_array_equal(batch["feature_lengths"], lengths[order])
    np.testing.assert_array_equal(batch["label_lengths"], [len(labels[i]) for i in order])
    for row, i in enumerate(order):
        expected = normalizer(table.utterance(int(i)))
        np.testing.assert_allclose(batch["features"][row, : lengths[i]], expected, atol=2e-2)
        assert not np.any(batch["features"][row, lengths[i]:])
        assert batch["labels"][row, : len(labels[i])].numpy().tolist() == labels[i]


def test_frequency_warp_of_factor_one_changes_nothing_and_padding_stays_zero(rng):
    lengths = np.array([5, 9, 3], dtype=np.int32)
    table = FeatureTable(values=(3 + rng.standard_normal((17, 80))).astype(np.float16), lengths=lengths)
    normalizer = fit_normalizer(table)
    labels = [[1], [2], [3]]
    plan = BatchPlan(lengths=lengths[None], max_frames=100)
    config = FeatureConfig(kind="logmel")
    (plain,) = list(make_dataset([table], labels, plan, normalizer=normalizer))
    identity = FrequencyWarp(min_factor=1.0, max_factor=1.0, steps=1).matrices(config)
    (same,) = list(make_dataset([table], labels, plan, normalizer=normalizer, frequency_warp=identity))
    np.testing.assert_allclose(same["features"], plain["features"], atol=1e-4)
    (warped,) = list(make_dataset([table], labels, plan, normalizer=normalizer,
                                  frequency_warp=FrequencyWarp(min_factor=1.15, max_factor=1.15, steps=1).matrices(config)))
    assert not np.allclose(warped["features"], plain["features"], atol=0.1)
    for row, length in enumerate(np.sort(lengths)):
        assert not np.any(warped["features"][row, length:])


def test_spec_augment_masks_only_inside_each_utterance():
    features = tf.ones([3, 50, 20])
    lengths = tf.constant([50, 30, 10], dtype=tf.int32)
    masked = apply_spec_augment(features, lengths, SpecAugment(frequency_masks=2, frequency_width=5, time_masks=2,
                                                               time_width=10, time_fraction=0.2)).numpy()
    assert masked.min() == 0 and masked.max() == 1
    zero_columns = (masked == 0).all(axis=1).sum(axis=1)
    assert (zero_columns <= 10).all()
    for row, length in enumerate([50, 30, 10]):
        zero_frames = (masked[row] == 0).all(axis=1)
        assert zero_frames.sum() <= 2 * int(0.2 * length)
    assert (masked.mean() > 0.5)


def test_spec_augment_never_masks_an_utterances_last_frame():
    """The models read the last frame that is not all zeros as the end of the utterance."""
    tf.random.set_seed(3)
    lengths = tf.constant([12, 40, 7], dtype=tf.int32)
    config = SpecAugment(frequency_masks=0, time_masks=4, time_width=10, time_fraction=0.5)
    for _ in range(50):
        masked = apply_spec_augment(tf.ones([3, 40, 4]), lengths, config).numpy()
        for row, length in enumerate(lengths.numpy()):
            assert masked[row, length - 1].all()
