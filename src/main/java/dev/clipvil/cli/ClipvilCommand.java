package dev.clipvil.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;
import picocli.CommandLine.Spec;

import java.util.concurrent.Callable;

/** The top-level {@code clipvil} command: global options and the list of subcommands. */
@Command(name = "clipvil",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        description = "A from-scratch deep-learning engine in Java: CLIP and CLIP-ViL.",
        subcommands = {InfoCommand.class, InspectCommand.class, DemoCommand.class, ConvertCommand.class,
                TokenizeCommand.class, PreprocessCommand.class, ForwardCommand.class, FinetuneClipCommand.class,
                ZeroshotCommand.class, EmbedCommand.class, ExtractGridCommand.class, BenchEncodeCommand.class, EvalCommand.class, MakeSyntheticCommand.class, TrainCommand.class, PredictCommand.class,
                CommandLine.HelpCommand.class})
final class ClipvilCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--debug", scope = ScopeType.INHERIT,
            description = "Print stack traces with error messages (also: CLIPVIL_DEBUG=1).")
    boolean debug;

    @Override
    public Integer call() {
        throw new CommandLine.ParameterException(spec.commandLine(), "missing subcommand");
    }
}
