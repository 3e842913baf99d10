package org.sls.slsd;

import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.FileAppender;
import org.sls.libsls.KernelFeature;
import org.sls.libsls.protocol.Protocol;
import org.sls.slos.Slos;
import org.sls.slsd.linux.KernelFeatures;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.Callable;

/**
 * The {@code slsd} command: parses options and the configuration file, opens the store, starts
 * the daemon and runs in the foreground until SIGTERM or SIGINT. Exit codes: 0 after a clean
 * stop, 1 when the daemon cannot start (the reason is logged), 2 on a usage error.
 */
@Command(name = "slsd", mixinStandardHelpOptions = true, versionProvider = Main.Version.class, sortOptions = false,
        description = "The sls daemon: keeps attached processes persistent in an slos store.",
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:stopped cleanly (SIGTERM or SIGINT)", "1:could not start (see the log)", "2:usage error"})
public final class Main implements Callable<Integer> {
    private static final Logger log = LoggerFactory.getLogger(Main.class);

    @Option(names = "--store", paramLabel = "PATH", description = "The store: an image file or block device formatted by newfs.")
    Path store;
    @Option(names = "--meta", paramLabel = "DIR", description = "Metadata directory (default: the store's own).")
    Path meta;
    @Option(names = "--socket", paramLabel = "PATH", description = "Control socket (default: ${DEFAULT-VALUE}).")
    Path socket;
    @Option(names = "--mount", paramLabel = "DIR", description = "Where to mount slfs (default /sls).")
    Path mount;
    @Option(names = "--no-mount", description = "Do not mount slfs.")
    boolean noMount;
    @Option(names = "--metrics", paramLabel = "FILE", description = "Write metrics (Prometheus text format) to FILE every second.")
    Path metrics;
    @Option(names = "--config", paramLabel = "FILE", description = "Configuration file (default /etc/sls/slsd.conf when present).")
    Path configFile;

    public static void main(String[] args) {
        System.exit(new CommandLine(new Main()).execute(args));
    }

    @Override
    public Integer call() throws Exception {
        SlsdConfig config;
        try {
            config = configure();
        } catch (IllegalArgumentException e) {
            log.error("{}", e.getMessage());
            return 2;
        }
        if (config.logFile() != null) {
            logAlsoTo(config.logFile());
        }
        Daemon daemon;
        try {
            KernelFeatures kernel = KernelProbe.probe();
            List<KernelFeature> features = KernelProbe.describe(kernel);
            for (KernelFeature f : features) {
                log.info("kernel: {} {} ({})", f.name(), f.available() ? "yes" : "NO", f.detail());
            }
            KernelProbe.becomeSubreaper();
            Slos slos = Slos.open(config.store(), config.metaDir());
            try {
                daemon = new Daemon(config, slos, kernel, features);
            } catch (Exception e) {
                slos.close();
                throw e;
            }
        } catch (Exception | LinkageError e) {
            log.error("cannot start: {}", e.getMessage() != null ? e.getMessage() : e.toString());
            log.debug("start failure", e);
            return 1;
        }
        Runnable stop = daemon::close;
        sun.misc.Signal.handle(new sun.misc.Signal("TERM"), s -> new Thread(stop, "slsd-stop").start());
        sun.misc.Signal.handle(new sun.misc.Signal("INT"), s -> new Thread(stop, "slsd-stop").start());
        daemon.start();
        log.info("slsd {} serving store {} on {}", Daemon.VERSION, config.store(), config.socket());
        daemon.awaitStop();
        log.info("stopped");
        return 0;
    }

    private SlsdConfig configure() {
        Properties file = new Properties();
        if (configFile != null) {
            file = SlsdConfig.readFile(configFile);
        } else if (Files.isReadable(SlsdConfig.DEFAULT_FILE)) {
            file = SlsdConfig.readFile(SlsdConfig.DEFAULT_FILE);
        }
        Path storePath = store != null ? store : SlsdConfig.path(file, "store").orElseThrow(
                () -> new IllegalArgumentException("no store given: use --store PATH or 'store = PATH' in the configuration"));
        Path metaDir = meta != null ? meta : SlsdConfig.path(file, "meta").orElse(null);
        Path sock = socket != null ? socket : SlsdConfig.path(file, "socket").orElse(Path.of(Protocol.DEFAULT_SOCKET));
        Path mnt = noMount ? null : mount != null ? mount : SlsdConfig.path(file, "mount").orElse(Path.of("/sls"));
        return new SlsdConfig(storePath, metaDir, sock, mnt, SlsdConfig.path(file, "log.file").orElse(null),
                metrics != null ? metrics : SlsdConfig.path(file, "metrics.file").orElse(null),
                SlsdConfig.size(file, "staging.max.bytes", org.sls.slsd.checkpoint.CheckpointEngine.DEFAULT_STAGING_MAX),
                SlsdConfig.share(file, "frozen.share.max", SlsdConfig.DEFAULT_FROZEN_SHARE_MAX),
                SlsdConfig.share(file, "cpu.share.max", SlsdConfig.DEFAULT_CPU_SHARE_MAX),
                SlsdConfig.shareOrOff(file, "memory.hot.share", org.sls.slsd.checkpoint.CheckpointEngine.DEFAULT_MEMORY_HOT_SHARE),
                SlsdConfig.onOff(file, "memory.precopy", false),
                SlsdConfig.onOff(file, "freeze.realtime", true));
    }

    private static void logAlsoTo(Path file) {
        LoggerContext ctx = (LoggerContext) LoggerFactory.getILoggerFactory();
        PatternLayoutEncoder encoder = new PatternLayoutEncoder();
        encoder.setContext(ctx);
        encoder.setPattern("%d{ISO8601} %-5level [%thread] %logger{24} - %msg%n");
        encoder.start();
        FileAppender<ILoggingEvent> appender = new FileAppender<>();
        appender.setContext(ctx);
        appender.setName("FILE");
        appender.setFile(file.toString());
        appender.setEncoder(encoder);
        appender.start();
        ctx.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME).addAppender(appender);
    }

    /** Reports the version from the jar manifest. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[]{"slsd " + Daemon.VERSION};
        }
    }
}
