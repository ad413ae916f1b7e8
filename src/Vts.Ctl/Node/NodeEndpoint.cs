using System.Globalization;

namespace Vts.Ctl.Node;

/// <summary>Where the node's admin port listens: HOST:PORT, with an IPv6 host in brackets ([::1]:7410).</summary>
public sealed record NodeEndpoint(string Host, int Port)
{
    public const string Default = "127.0.0.1:7410";

    public Uri BaseAddress => new($"http://{Host}:{Port}");

    public override string ToString() => $"{Host}:{Port}";

    public static bool TryParse(string? text, out NodeEndpoint endpoint, out string error)
    {
        endpoint = null!;
        error = $"'{text}' is not HOST:PORT";
        if (string.IsNullOrWhiteSpace(text)) return false;

        var colon = text.LastIndexOf(':');
        if (colon <= 0) return false;
        var host = text[..colon];
        var portText = text[(colon + 1)..];

        // An unbracketed IPv6 address cannot be told apart from its port.
        var bracketed = host.StartsWith('[') && host.EndsWith(']');
        if (host.Contains(':') && !bracketed) return false;
        if (Uri.CheckHostName(bracketed ? host[1..^1] : host) == UriHostNameType.Unknown) return false;

        if (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
        {
            error = $"'{portText}' in '{text}' is not a port (1-65535)";
            return false;
        }

        endpoint = new NodeEndpoint(host, port);
        return true;
    }
}
