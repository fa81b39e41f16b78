#!/usr/bin/env bash
# Resolves Apache Kafka's broker, tools and a log4j2 binding (pom.xml beside
# this script) into a cache folder and prints that folder on its last line.
#
# Idempotent: the folder holds a stamp with a copy of pom.xml; while it
# matches, the script neither runs Maven nor touches the network.
#
# Folder: FERROKAFKA_KAFKA_LIBS if set, else
# $HOME/.cache/ferrokafka/apache-kafka-<kafka.version>/libs (outside target/,
# so `cargo clean` keeps it). Needs java and mvn on PATH; exits 2 naming
# the missing one otherwise.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
POM="$HERE/pom.xml"
VERSION=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$POM")
[ -n "$VERSION" ] || { echo "resolve.sh: no <kafka.version> in $POM" >&2; exit 1; }
LIBS=${FERROKAFKA_KAFKA_LIBS:-${HOME:?}/.cache/ferrokafka/apache-kafka-$VERSION/libs}
STAMP="$LIBS/.ferrokafka-pom.xml"

if [ -f "$STAMP" ] && cmp -s "$POM" "$STAMP"; then
    echo "apache-kafka $VERSION present ($LIBS matches pom.xml)" >&2
    echo "$LIBS"
    exit 0
fi
for tool in java mvn; do
    command -v "$tool" >/dev/null 2>&1 || { echo "resolve.sh: $tool not on PATH" >&2; exit 2; }
done

echo "resolving apache-kafka $VERSION into $LIBS" >&2
# Resolve next to the target and rename: an interrupted run leaves no
# half-filled folder with a stamp.
mkdir -p "$(dirname "$LIBS")"
TMP=$(mktemp -d "$LIBS.tmp.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
mvn -q -B -f "$POM" dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$TMP" >&2
# The broker and the storage tool must be there, or the tests cannot start.
ls "$TMP"/kafka_2.13-"$VERSION".jar "$TMP"/kafka-tools-"$VERSION".jar "$TMP"/log4j-core-*.jar >/dev/null
cp "$POM" "$TMP/.ferrokafka-pom.xml"
rm -rf "$LIBS"
mv "$TMP" "$LIBS"
trap - EXIT
echo "resolved $(ls "$LIBS"/*.jar | wc -l) jars" >&2
echo "$LIBS"
