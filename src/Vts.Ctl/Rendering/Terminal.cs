using System.Globalization;
using Spectre.Console;

namespace Vts.Ctl.Rendering;

public static class Terminal
{
    // Spectre lays tables out for 80 columns when stdout is not a terminal, which folds every tape row over
    // several lines and breaks `vtsctl autocopy tapes | grep A00001`. Honour COLUMNS like other tools, and
    // otherwise give redirected output room for a full row.
    private const int RedirectedWidth = 200;

    public static void Configure()
    {
        var columns = Environment.GetEnvironmentVariable("COLUMNS");
        if (int.TryParse(columns, NumberStyles.None, CultureInfo.InvariantCulture, out var width) && width > 0)
            AnsiConsole.Profile.Width = width;
        else if (Console.IsOutputRedirected)
            AnsiConsole.Profile.Width = RedirectedWidth;
    }
}
