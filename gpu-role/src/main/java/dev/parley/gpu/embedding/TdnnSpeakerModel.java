package dev.parley.gpu.embedding;

import ai.djl.Device;
import ai.djl.MalformedModelException;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.parley.gpu.pipeline.ModelWeights;
import dev.parley.gpu.pipeline.features.Fbank;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;

/**
 * Parley's own {@link SpeakerTdnn} with weights trained by {@code train-embedding}: the committed
 * ones ({@link #load(Device)}) or those of any {@code train-embedding} output directory
 * ({@link #loadDirectory}). The committed weights are the classpath resources
 * {@code models/parley-embed/parley-embed.params} (DJL parameter format, read through an
 * InputStream so they load from inside a jar) and {@code models/parley-embed/model.properties}
 * (layer sizes, training facts, held-out EER).
 *
 * <p>Thread safety: {@link #embed} runs the block directly with a fresh {@code ParameterStore} per
 * call, in inference mode, on parameters that are frozen (no gradient); calls may run concurrently.
 * Features are expected mean-normalised per window (the caller applies {@code Fbank.cmn}).
 */
public final class TdnnSpeakerModel implements SpeakerEmbeddingModel {
  public static final String RESOURCE_DIR = "models/parley-embed/";
  public static final String PARAMS_FILE = "parley-embed.params";
  public static final String PROPERTIES_FILE = ModelWeights.PROPERTIES_FILE;
  public static final String ID = "parley-tdnn";

  private final NDManager manager;
  private final SpeakerTdnn block;
  private final String version;

  private TdnnSpeakerModel(ModelWeights weights, Device device) throws IOException, MalformedModelException {
    this.version = weights.version();
    this.manager = NDManager.newBaseManager(device);
    try {
      this.block = new SpeakerTdnn(SpeakerTdnn.Config.from(weights.properties()));
      weights.loadInto(block, manager, new Shape(1, 200, Fbank.NUM_BINS));
    } catch (IOException | MalformedModelException | RuntimeException e) {
      manager.close();
      throw e;
    }
  }

  /** Loads the committed default weights (classpath) onto {@code device} (null: DJL default). */
  public static TdnnSpeakerModel load(Device device) {
    ModelWeights w = ModelWeights.resource(RESOURCE_DIR, PARAMS_FILE, "no default speaker embedding weights on the"
        + " classpath (" + RESOURCE_DIR + PARAMS_FILE + "); train them with `train-embedding` or set PARLEY_EMBEDDING_MODEL");
    try {
      return new TdnnSpeakerModel(w, device);
    } catch (IOException | MalformedModelException e) {
      throw new IllegalStateException("cannot load the default speaker embedding weights", e);
    }
  }

  /** Loads weights saved by {@code SpeakerTdnn.saveParameters} from a file, with their sizes. */
  public static TdnnSpeakerModel load(Path params, Properties properties, Device device) {
    try {
      return new TdnnSpeakerModel(ModelWeights.of(Files.readAllBytes(params), properties), device);
    } catch (IOException | MalformedModelException e) {
      throw new IllegalArgumentException("cannot load speaker embedding weights " + params + ": " + e.getMessage(), e);
    }
  }

  /** Loads {@code train-embedding} output: {@code dir/parley-embed.params} with {@code dir/model.properties}. */
  public static TdnnSpeakerModel loadDirectory(Path dir, Device device) {
    ModelWeights w = ModelWeights.directory(dir, PARAMS_FILE, "a train-embedding output");
    try {
      return new TdnnSpeakerModel(w, device);
    } catch (IOException | MalformedModelException e) {
      throw new IllegalArgumentException("cannot load the speaker embedding weights in " + dir + ": " + e.getMessage(), e);
    }
  }

  @Override
  public NDArray embed(NDArray features) {
    return BlockForward.run(block, manager.getDevice(), features);
  }

  @Override
  public int dimension() {
    return block.config().embeddingDim();
  }

  @Override
  public String id() {
    return ID;
  }

  @Override
  public String version() {
    return version;
  }

  @Override
  public void close() {
    manager.close();
  }
}
