package dev.parley.gpu.eval;

/**
 * Diarization error in seconds: {@code total} is the scored reference speech (overlap counted
 * once per speaker); DER = (missed + falseAlarm + confusion) / total.
 */
public record DerResult(double total, double missed, double falseAlarm, double confusion) {
  public static final DerResult ZERO = new DerResult(0, 0, 0, 0);

  public double der() {
    return ratio(missed + falseAlarm + confusion);
  }

  public double missedRate() {
    return ratio(missed);
  }

  public double falseAlarmRate() {
    return ratio(falseAlarm);
  }

  public double confusionRate() {
    return ratio(confusion);
  }

  public DerResult plus(DerResult o) {
    return new DerResult(total + o.total, missed + o.missed, falseAlarm + o.falseAlarm, confusion + o.confusion);
  }

  private double ratio(double x) {
    if (total > 0) return x / total;
    return x > 0 ? Double.POSITIVE_INFINITY : 0.0;
  }
}
