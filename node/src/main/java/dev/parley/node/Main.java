package dev.parley.node;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import dev.parley.gpu.cli.Cli;
import dev.parley.gpu.pipeline.DiarizationPipeline;
import dev.parley.gpu.pipeline.PipelineSettings;
import dev.parley.gpu.training.EvaluateEmbedding;
import dev.parley.gpu.training.TrainEmbedding;
import dev.parley.gpu.training.TrainVad;
import java.io.PrintStream;
import java.util.Arrays;
import java.util.Locale;
import org.slf4j.LoggerFactory;

/**
 * {@code java -jar parley.jar [COMMAND ...]}: without a command it starts a node; the commands run
 * the diarization pipeline and training from the command line.
 */
public final class Main {
  private Main() {}

  static final String USAGE = """
      Usage: java -jar parley.jar [COMMAND [ARGS...]]

      Without a command, starts a Parley node. Its roles and everything else come from
      parley.* configuration and PARLEY_* environment variables (see README, "Configuration"):
        PARLEY_ROLES=http|gpu|http,gpu (default http,gpu: the embedded default, H2 and audio under
        ./data, HTTP on 8080), PARLEY_SEED_NODES=host:port,..., PARLEY_CLUSTER_PORT, PARLEY_HTTP_PORT,
        PARLEY_DB_URL / PARLEY_DB_USER / PARLEY_DB_PASSWORD, PARLEY_BLOB_STORE=file|postgres,
        PARLEY_GPU_CONCURRENCY, PARLEY_GPU_IDLE_TIMEOUT, PARLEY_VAD_MODEL, PARLEY_EMBEDDING_MODEL,
        PARLEY_DEVICE, PARLEY_PIPELINE_THREADS.

      Commands:
      """ + Cli.COMMANDS_HELP + """
        train-embedding [OPTIONS]
            train the speaker embedding model (see train-embedding --help)
        train-vad [OPTIONS]
            train the speech or the overlapped-speech detector (see train-vad --help and docs/VAD_MODEL_CARD.md)
        evaluate-embedding [OPTIONS]
            equal error rate of a speaker model on held-out speakers (see evaluate-embedding --help)
        help
            this text

      """ + Cli.OPTIONS_HELP;

  public static void main(String[] args) {
    System.setProperty("ai.djl.offline", "true");
    if (args.length == 0) {
      startNode();
      return; // the node runs until coordinated shutdown ends the JVM
    }
    System.exit(run(args, System.out, System.err));
  }

  /** Runs a command and returns its exit code (0 ok, 2 usage error). Never starts a node. */
  static int run(String[] args, PrintStream out, PrintStream err) {
    String command = args[0].toLowerCase(Locale.ROOT);
    String[] rest = Arrays.copyOfRange(args, 1, args.length);
    if (Cli.COMMANDS.contains(command)) {
      Config parley;
      try { // the node's configuration errors are the commands' too: explained, exit 2
        EnvironmentVariables.check(System.getenv());
        EnvironmentVariables.unknown(System.getenv()).forEach(w -> err.println("parley: warning: " + w));
        parley = NodeConfig.load().getConfig("parley");
        PipelineSettings.fromConfig(parley);
      } catch (ConfigException e) {
        err.println("parley: configuration error: " + EnvironmentVariables.explain(e, System.getenv()));
        return 2;
      } catch (IllegalArgumentException e) {
        err.println("parley: configuration error: " + EnvironmentVariables.explain(e.getMessage(), System.getenv()));
        return 2;
      }
      return Cli.run(command, rest, parley, out, err);
    }
    switch (command) {
      case "train-embedding":
        return TrainEmbedding.run(rest);
      case "train-vad":
        return TrainVad.run(rest);
      case "evaluate-embedding":
        return EvaluateEmbedding.run(rest);
      case "help":
      case "--help":
      case "-h":
        out.print(USAGE);
        return 0;
      default:
        err.println("parley: unknown command '" + args[0] + "'");
        err.print(USAGE);
        return 2;
    }
  }

  private static void startNode() {
    try {
      EnvironmentVariables.check(System.getenv());
      EnvironmentVariables.unknown(System.getenv()).forEach(w -> LoggerFactory.getLogger(Main.class).warn(w));
      Config loaded = NodeConfig.load();
      ParleyNode.start(loaded, true, parley -> DiarizationPipeline.create(PipelineSettings.fromConfig(parley)));
    } catch (ConfigException e) {
      System.err.println("parley: configuration error: " + EnvironmentVariables.explain(e, System.getenv()));
      System.exit(2);
    } catch (IllegalArgumentException e) {
      System.err.println("parley: configuration error: " + EnvironmentVariables.explain(e.getMessage(), System.getenv()));
      System.exit(2);
    } catch (RuntimeException | Error e) {
      System.err.println("parley: the node could not start: " + StartFailures.describe(e));
      if (!StartFailures.explained(e)) e.printStackTrace(System.err);
      System.exit(1);
    }
  }
}
