using System.Globalization;

namespace Vts.Sim;

/// <summary>The key server that creates the key of the simulated SecureVTS, as <c>--kmip…</c> and <c>--key-server</c> give it.</summary>
/// <param name="Name">the name written in the tapes' headers (the node's <c>vts.securevts.key-servers</c> key).</param>
public sealed record SimKeyServer(string Name, string Host, int Port, string CaFile, string CertFile, string KeyFile);

/// <summary>The simulator's command line (README), parsed by hand so the tool stays dependency-free.</summary>
public sealed record SimOptions(
    string Vault,
    string EmsHost,
    int EmsPort,
    IReadOnlyList<string> Pools,
    int Tapes,
    long Size,
    double Rate,
    double NoringShare,
    double EncryptedShare,
    int Cycles,
    string IdPrefix,
    string? SummaryFile,
    SimKeyServer? KeyServer = null,
    char VolserPrefix = 'S')
{
    public const string Usage =
        """
        usage: vts-sim --vault DIR --ems HOST:PORT --pools POOL1,POOL2 [options]

        Writes and rewrites tape files under DIR/<pool>/<volser> and sends the matching EMS
        mount/dismount events (JSON lines, docs/ems.md) to a node, reading one reply per line.

          --vault DIR             vault root; pool folders are created when missing
          --ems HOST:PORT         the node's EMS intake
          --pools P1,P2,...       pools; tape i goes to pool i % (number of pools)
          --tapes N               number of tapes, volsers S00001.. (default 10, at most 99999)
          --volser-prefix L       the volsers' first letter, A-Z (default S)
          --size BYTES            tape size; suffixes K, M, G (x1024) accepted (default 1M)
          --rate N                mount/dismount cycles per second (default 20)
          --noring-share X        share of mounts that are NO RING, 0..1 (default 0.2)
          --encrypted-share X     share of tapes encrypted by SecureVTS, 0..1 (default 0): AES-256-GCM under
                                  a key created in the key server below, with a SecureVTS header naming it
          --kmip HOST:PORT        the KMIP key server that creates that key (required with --encrypted-share)
          --kmip-ca FILE          PEM certificate of the authority the key server's certificate chains to
          --kmip-cert FILE        PEM client certificate presented to the key server
          --kmip-key FILE         its PEM private key
          --key-server NAME       the key server's name written in the headers (default kms1)
          --cycles N              mount/dismount cycles, tapes taken round robin (default = tapes)
          --id-prefix STR         event id prefix; ids are STR-1, STR-2, ... (default "sim")
          --summary FILE          also write the summary as JSON to FILE
          -h, --help              show this text

        Exit codes: 0 every event acknowledged, 1 a nak or a connection failure, 2 bad arguments.
        """;

    /// <summary>Returns the options, or null with <paramref name="error"/> set; <paramref name="help"/> when usage was asked for.</summary>
    public static SimOptions? Parse(string[] args, out string? error, out bool help)
    {
        error = null;
        help = false;
        string? vault = null, ems = null, pools = null, idPrefix = "sim", summary = null;
        var volserPrefix = 'S';
        string? kmip = null, kmipCa = null, kmipCert = null, kmipKey = null, keyServer = "kms1";
        int tapes = 10;
        int? cycles = null;
        long size = 1024 * 1024;
        double rate = 20, noring = 0.2, encrypted = 0;

        for (var i = 0; i < args.Length; i++)
        {
            var name = args[i];
            if (name is "-h" or "--help")
            {
                help = true;
                return null;
            }
            if (!name.StartsWith("--", StringComparison.Ordinal))
                return Fail($"unexpected argument '{name}'", out error);
            if (i + 1 >= args.Length)
                return Fail($"{name} needs a value", out error);
            var value = args[++i];
            switch (name)
            {
                case "--vault": vault = value; break;
                case "--ems": ems = value; break;
                case "--pools": pools = value; break;
                case "--id-prefix": idPrefix = value; break;
                case "--summary": summary = value; break;
                case "--kmip": kmip = value; break;
                case "--kmip-ca": kmipCa = value; break;
                case "--kmip-cert": kmipCert = value; break;
                case "--kmip-key": kmipKey = value; break;
                case "--key-server": keyServer = value; break;
                case "--volser-prefix":
                    if (value.Length != 1 || !char.IsAsciiLetterUpper(value[0]))
                        return Fail($"--volser-prefix must be one letter A-Z, not '{value}'", out error);
                    volserPrefix = value[0];
                    break;
                case "--tapes":
                    if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out tapes) || tapes < 1 || tapes > 99_999)
                        return Fail($"--tapes must be a whole number from 1 to 99999, not '{value}'", out error);
                    break;
                case "--cycles":
                    if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var c) || c < 0)
                        return Fail($"--cycles must be a whole number ≥ 0, not '{value}'", out error);
                    cycles = c;
                    break;
                case "--size":
                    if (!TryParseSize(value, out size))
                        return Fail($"--size must be a byte count ≥ 0 with an optional K, M or G suffix, not '{value}'", out error);
                    break;
                case "--rate":
                    if (!TryParseDouble(value, out rate) || rate <= 0)
                        return Fail($"--rate must be a number > 0, not '{value}'", out error);
                    break;
                case "--noring-share":
                    if (!TryParseDouble(value, out noring) || noring is < 0 or > 1)
                        return Fail($"--noring-share must be a number from 0 to 1, not '{value}'", out error);
                    break;
                case "--encrypted-share":
                    if (!TryParseDouble(value, out encrypted) || encrypted is < 0 or > 1)
                        return Fail($"--encrypted-share must be a number from 0 to 1, not '{value}'", out error);
                    break;
                default:
                    return Fail($"unknown option '{name}'", out error);
            }
        }

        if (string.IsNullOrWhiteSpace(vault)) return Fail("--vault is required", out error);
        if (string.IsNullOrWhiteSpace(ems)) return Fail("--ems is required", out error);
        if (string.IsNullOrWhiteSpace(pools)) return Fail("--pools is required", out error);

        var colon = ems.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(ems.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
            return Fail($"--ems must be HOST:PORT, not '{ems}'", out error);
        var host = ems[..colon].Trim('[', ']'); // tolerate [::1]:7400

        var poolList = pools.Split(',', StringSplitOptions.TrimEntries);
        foreach (var p in poolList)
        {
            // The pool becomes a folder name and a JSON field; anything path-like would escape the vault.
            if (p.Length == 0 || p.IndexOfAny(['/', '\\', '"']) >= 0 || p is "." or "..")
                return Fail($"--pools has a bad pool name '{p}'", out error);
        }
        if (poolList.Distinct(StringComparer.Ordinal).Count() != poolList.Length)
            return Fail("--pools names a pool twice", out error);

        if (idPrefix.Length == 0 || idPrefix.Contains('"') || idPrefix.Contains('\\'))
            return Fail($"--id-prefix must be non-empty and contain no quote or backslash, not '{idPrefix}'", out error);
        var totalCycles = cycles ?? tapes;
        // The node de-duplicates on ids of at most 64 characters (docs/ems.md); a longer one would be nak'd.
        var longestId = $"{idPrefix}-{2L * totalCycles}";
        if (longestId.Length > 64)
            return Fail($"--id-prefix is too long: ids like '{longestId}' exceed 64 characters", out error);

        SimKeyServer? server = null;
        if (encrypted > 0)
        {
            if (kmip is null || kmipCa is null || kmipCert is null || kmipKey is null)
                return Fail("--encrypted-share needs --kmip, --kmip-ca, --kmip-cert and --kmip-key: its tapes are encrypted under a key the key server creates", out error);
            var kmipColon = kmip.LastIndexOf(':');
            if (kmipColon <= 0 || !int.TryParse(kmip.AsSpan(kmipColon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var kmipPort) || kmipPort is < 1 or > 65535)
                return Fail($"--kmip must be HOST:PORT, not '{kmip}'", out error);
            foreach (var file in new[] { kmipCa, kmipCert, kmipKey })
                if (!File.Exists(file)) return Fail($"file '{file}' does not exist", out error);
            if (keyServer.Length is 0 or > 64 || !keyServer.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_'))
                return Fail($"--key-server must be letters, digits, '.', '-' or '_' (at most 64), not '{keyServer}'", out error);
            server = new SimKeyServer(keyServer, kmip[..kmipColon], kmipPort, kmipCa, kmipCert, kmipKey);
        }

        return new SimOptions(vault, host, port, poolList, tapes, size, rate, noring, encrypted, totalCycles, idPrefix, summary, server, volserPrefix);
    }

    private static SimOptions? Fail(string message, out string? error)
    {
        error = message;
        return null;
    }

    private static bool TryParseDouble(string s, out double value) =>
        double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out value) && double.IsFinite(value);

    public static bool TryParseSize(string s, out long bytes)
    {
        bytes = 0;
        if (s.Length == 0) return false;
        long multiplier = char.ToUpperInvariant(s[^1]) switch
        {
            'K' => 1L << 10,
            'M' => 1L << 20,
            'G' => 1L << 30,
            _ => 1,
        };
        var digits = multiplier == 1 ? s : s[..^1];
        if (!long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var n)) return false;
        try
        {
            bytes = checked(n * multiplier);
            return true;
        }
        catch (OverflowException)
        {
            return false;
        }
    }
}
