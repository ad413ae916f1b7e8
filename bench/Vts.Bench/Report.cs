using System.Text;

namespace Vts.Bench;

/// <summary>One measured figure beside its goal.</summary>
public sealed record Figure(string Name, string Value, string Goal, string Verdict, string Note = "");

/// <summary>Collects figures and writes bench/results.md.</summary>
public sealed class Report
{
    private readonly List<(string Section, List<Figure> Figures, List<string> Notes)> _sections = [];

    public void Section(string title) => _sections.Add((title, [], []));

    public void Add(Figure figure)
    {
        _sections[^1].Figures.Add(figure);
        Console.WriteLine($"  {figure.Name}: {figure.Value}  (goal {figure.Goal}: {figure.Verdict}) {figure.Note}");
    }

    public void Note(string text)
    {
        _sections[^1].Notes.Add(text);
        Console.WriteLine($"  note: {text}");
    }

    public string Markdown(string machine, TimeSpan took)
    {
        var md = new StringBuilder();
        md.AppendLine("# VtsActors benchmark results");
        md.AppendLine();
        md.AppendLine($"Written by `dotnet pwsh ./build.ps1 bench` on {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm} UTC in {took.TotalMinutes:F1} min.");
        md.AppendLine($"Machine: {machine}");
        md.AppendLine();
        foreach (var (section, figures, notes) in _sections)
        {
            md.AppendLine($"## {section}");
            md.AppendLine();
            md.AppendLine("| figure | measured | goal | met? | note |");
            md.AppendLine("| --- | --- | --- | --- | --- |");
            foreach (var f in figures) md.AppendLine($"| {f.Name} | {f.Value} | {f.Goal} | {f.Verdict} | {f.Note} |");
            md.AppendLine();
            foreach (var n in notes) md.AppendLine($"- {n}");
            if (notes.Count > 0) md.AppendLine();
        }
        return md.ToString();
    }
}

public static class Stats
{
    public static double Median(IEnumerable<double> values) => Percentile(values, 50);

    public static double Percentile(IEnumerable<double> values, double p)
    {
        var sorted = values.Order().ToArray();
        if (sorted.Length == 0) return double.NaN;
        var rank = p / 100 * (sorted.Length - 1);
        var lo = (int)Math.Floor(rank);
        var hi = (int)Math.Ceiling(rank);
        return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo);
    }

    public static string Met(bool met) => met ? "yes" : "**no**";
}
