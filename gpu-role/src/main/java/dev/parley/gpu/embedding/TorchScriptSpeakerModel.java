package dev.parley.gpu.embedding;

import ai.djl.Device;
import ai.djl.MalformedModelException;
import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.parley.gpu.pipeline.ModelVersion;
import dev.parley.gpu.pipeline.features.Fbank;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Any TorchScript speaker model with WeSpeaker's contract ({@code [batch, frames, 80]} mean-normalised
 * Kaldi fbank in, {@code [batch, dim]} out), loaded through DJL's PyTorch engine. The contract is
 * checked at load time with a probe input, which also yields {@link #dimension()}. The id is the file
 * name, the version the SHA-256 prefix of the file.
 *
 * <p>Thread safety: {@link #embed} calls the scripted module's forward in inference mode directly
 * (no Predictor); libtorch modules in eval mode allow concurrent forward calls.
 */
public final class TorchScriptSpeakerModel implements SpeakerEmbeddingModel {
  private static final int PROBE_FRAMES = 200;

  private final Model model;
  private final String id;
  private final String version;
  private final int dimension;

  private TorchScriptSpeakerModel(Model model, String id, String version, int dimension) {
    this.model = model;
    this.id = id;
    this.version = version;
    this.dimension = dimension;
  }

  public static TorchScriptSpeakerModel load(Path file, Device device) {
    if (!Files.isRegularFile(file)) {
      throw new IllegalArgumentException("speaker embedding model not found: " + file);
    }
    String version = ModelVersion.of(file);
    Model model = Model.newInstance(file.getFileName().toString(), device, "PyTorch");
    try {
      model.load(file, null, Map.of("mapLocation", "true"));
      int dim = probe(model, file);
      return new TorchScriptSpeakerModel(model, file.getFileName().toString(), version, dim);
    } catch (IOException | MalformedModelException | RuntimeException e) {
      model.close();
      if (e instanceof IllegalArgumentException iae) {
        throw iae;
      }
      throw new IllegalArgumentException(
          "cannot load " + file + " as a TorchScript speaker model: " + e.getMessage(), e);
    }
  }

  private static int probe(Model model, Path file) {
    try (NDManager m = model.getNDManager().newSubManager()) {
      NDArray x = m.zeros(new Shape(2, PROBE_FRAMES, Fbank.NUM_BINS));
      NDArray y =
          BlockForward.run(model.getBlock(), model.getNDManager().getDevice(), x);
      Shape s = y.getShape();
      if (s.dimension() != 2 || s.get(0) != 2 || s.get(1) < 1) {
        throw new IllegalArgumentException(
            file + " does not follow the speaker model contract: [2, "
                + PROBE_FRAMES + ", " + Fbank.NUM_BINS + "] gave " + s + ", expected [2, dim]");
      }
      return (int) s.get(1);
    } catch (IllegalArgumentException e) {
      throw e;
    } catch (RuntimeException e) {
      throw new IllegalArgumentException(
          file + " does not accept [batch, frames, " + Fbank.NUM_BINS + "] features: " + e.getMessage(), e);
    }
  }

  @Override
  public NDArray embed(NDArray features) {
    return BlockForward.run(
        model.getBlock(), model.getNDManager().getDevice(), features);
  }

  @Override
  public int dimension() {
    return dimension;
  }

  @Override
  public String id() {
    return id;
  }

  @Override
  public String version() {
    return version;
  }

  @Override
  public void close() {
    model.close();
  }
}
