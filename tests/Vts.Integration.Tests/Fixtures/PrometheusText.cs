using System.Globalization;
using System.Text.RegularExpressions;

namespace Vts.Integration.Tests.Fixtures;

/// <summary>A strict reader of the Prometheus text exposition format (0.0.4): every line must be a HELP or TYPE
/// comment, a blank, or a sample whose metric was declared; anything else fails the parse.</summary>
public static partial class PrometheusText
{
    public sealed record Sample(string Name, IReadOnlyDictionary<string, string> Labels, double Value);

    public static List<Sample> Parse(string text)
    {
        var types = new Dictionary<string, string>();
        var samples = new List<Sample>();
        var lineNumber = 0;
        foreach (var line in text.Split('\n'))
        {
            lineNumber++;
            if (line.Length == 0) continue;
            var type = TypeLine().Match(line);
            if (type.Success)
            {
                if (!types.TryAdd(type.Groups["name"].Value, type.Groups["type"].Value))
                    throw new FormatException($"line {lineNumber}: second TYPE for {type.Groups["name"].Value}");
                continue;
            }
            if (HelpLine().IsMatch(line)) continue;
            if (line.StartsWith('#')) throw new FormatException($"line {lineNumber}: unknown comment: {line}");
            var sample = SampleLine().Match(line);
            if (!sample.Success) throw new FormatException($"line {lineNumber}: not a sample: {line}");
            var name = sample.Groups["name"].Value;
            var family = Regex.Replace(name, "_(bucket|sum|count|total|created)$", "");
            if (!types.ContainsKey(name) && !types.ContainsKey(family))
                throw new FormatException($"line {lineNumber}: sample of undeclared metric {name}");
            var labels = new Dictionary<string, string>();
            foreach (Match label in LabelPair().Matches(sample.Groups["labels"].Value))
                labels[label.Groups["key"].Value] = Regex.Unescape(label.Groups["value"].Value);
            var valueText = sample.Groups["value"].Value;
            var value = valueText switch
            {
                "+Inf" => double.PositiveInfinity,
                "-Inf" => double.NegativeInfinity,
                "NaN" => double.NaN,
                _ => double.Parse(valueText, NumberStyles.Float, CultureInfo.InvariantCulture),
            };
            samples.Add(new Sample(name, labels, value));
        }
        return samples;
    }

    [GeneratedRegex(@"^# TYPE (?<name>[a-zA-Z_:][a-zA-Z0-9_:]*) (?<type>counter|gauge|histogram|summary|untyped)$")]
    private static partial Regex TypeLine();

    [GeneratedRegex(@"^# HELP [a-zA-Z_:][a-zA-Z0-9_:]* .*$")]
    private static partial Regex HelpLine();

    [GeneratedRegex(@"^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>([a-zA-Z_][a-zA-Z0-9_]*=""([^""\\]|\\.)*"",?)*)\})? (?<value>[^ ]+)( -?\d+)?$")]
    private static partial Regex SampleLine();

    [GeneratedRegex(@"(?<key>[a-zA-Z_][a-zA-Z0-9_]*)=""(?<value>([^""\\]|\\.)*)""")]
    private static partial Regex LabelPair();
}
