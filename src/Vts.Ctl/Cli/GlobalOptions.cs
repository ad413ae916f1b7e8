namespace Vts.Ctl.Cli;

/// <summary>The options every command shares. Operators type them where habit puts them
/// (<c>vtsctl --json autocopy pools</c> as often as <c>vtsctl autocopy pools --json</c>), but Spectre only
/// binds a command's options after the command's name. So they are moved behind the command and its
/// arguments, where the leaf command's <see cref="Commands.NodeSettings"/> binds and validates them as usual.</summary>
public static class GlobalOptions
{
    private const string Json = "--json";
    private static readonly string[] WithValue = ["--node", "--token"];

    /// <returns>the reordered line, and whether anything but global options is on it.</returns>
    public static (string[] Line, bool HasCommand) MovedLast(IReadOnlyList<string> args)
    {
        // Whatever follows "--" is data, never options, and must stay behind the separator.
        var separator = args.ToList().IndexOf("--");
        var head = separator < 0 ? args : args.Take(separator).ToList();
        var tail = separator < 0 ? [] : args.Skip(separator).ToList();

        var rest = new List<string>(head.Count);
        var global = new List<string>();
        for (var i = 0; i < head.Count; i++)
        {
            var arg = head[i];
            if (arg == Json || WithValue.Any(name => arg.StartsWith(name + "=", StringComparison.Ordinal)))
            {
                global.Add(arg);
            }
            else if (WithValue.Contains(arg))
            {
                global.Add(arg);
                if (i + 1 < head.Count) global.Add(head[++i]);
            }
            else
            {
                rest.Add(arg);
            }
        }
        return ([.. rest, .. global, .. tail], rest.Count > 0);
    }
}
