package dev.parley.protocol;

/**
 * One speaker found in a recording: its label ({@code SPEAKER_00}, ...), total talk time in
 * seconds and the L2-normalised centroid of its embeddings (voiceprints build on it).
 */
public record SpeakerSummary(String label, double talkTime, float[] centroid) implements CborSerializable {}
