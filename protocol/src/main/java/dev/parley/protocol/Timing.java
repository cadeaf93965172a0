package dev.parley.protocol;

/** How long a diarization took and where it ran. */
public record Timing(double audioSeconds, double processingSeconds, double realTimeFactor, String device)
    implements CborSerializable {}
