package dev.parley.gpu.worker;

import dev.parley.protocol.DiarizationResult;

/** How one run of a job ended on this node. */
public sealed interface JobOutcome {

  record Completed(DiarizationResult result) implements JobOutcome {}

  /** {@code retryable=false}: the input is at fault and another attempt cannot help. */
  record Failed(String reason, boolean retryable) implements JobOutcome {}
}
