# Shared by the launchers in this directory: finds SLS_HOME and a java, then runs MAIN_CLASS with
# the launcher's JVM_OPTS and then the user's SLS_JAVA_OPTS. Sourced, not executed. sls.native.dir
# names lib/native, where the build unpacked RocksDB's library: loaded in place, not copied to /tmp.
here=$(dirname "$(readlink -f "$0")")
SLS_HOME=$(dirname "$here")
if [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ]; then
  java="$JAVA_HOME/bin/java"
else
  java=$(command -v java) || { echo "$(basename "$0"): no java found: install a JDK 17 or newer, or set JAVA_HOME" >&2; exit 1; }
fi
exec "$java" --enable-native-access=ALL-UNNAMED -Dsls.native.dir="$SLS_HOME/lib/native" ${JVM_OPTS:-} ${SLS_JAVA_OPTS:-} -cp "$SLS_HOME/lib/*" "$MAIN_CLASS" "$@"
