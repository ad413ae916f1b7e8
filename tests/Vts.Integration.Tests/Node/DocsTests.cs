using System.Text.RegularExpressions;
using Vts.Testing;
using Xunit;

namespace Vts.Integration.Tests.Node;

/// <summary>The repository's documents stand alone: every link in README.md and docs/ leads to a file in the
/// repository, and every rule the code cites (R1–R17) can be looked up in docs/rules.md.</summary>
public sealed partial class DocsTests
{
    private static readonly string Root = NodeProcess.RepositoryRoot;

    public static TheoryData<string> Documents()
    {
        var data = new TheoryData<string>();
        data.Add("README.md");
        foreach (var file in Directory.GetFiles(Path.Combine(Root, "docs"), "*.md").Order()) data.Add(Path.GetRelativePath(Root, file));
        return data;
    }

    [Theory]
    [MemberData(nameof(Documents))]
    public void Every_relative_link_leads_to_a_file_in_the_repository(string document)
    {
        var folder = Path.GetDirectoryName(Path.Combine(Root, document))!;
        foreach (Match link in Link().Matches(File.ReadAllText(Path.Combine(Root, document))))
        {
            var target = link.Groups["target"].Value;
            if (target.StartsWith("http://", StringComparison.Ordinal) || target.StartsWith("https://", StringComparison.Ordinal)) continue;
            var path = Path.GetFullPath(Path.Combine(folder, target.Split('#')[0]));
            Assert.True(path.StartsWith(Root + Path.DirectorySeparatorChar, StringComparison.Ordinal), $"{document}: {target} leads outside the repository");
            Assert.True(File.Exists(path) || Directory.Exists(path), $"{document}: {target} leads nowhere");
        }
    }

    [Fact]
    public void Every_rule_is_described_in_docs_rules()
    {
        var rules = File.ReadAllText(Path.Combine(Root, "docs", "rules.md"));
        foreach (var rule in Enumerable.Range(1, 17)) Assert.Contains($"**R{rule}**", rules);
    }

    [GeneratedRegex(@"\]\((?<target>[^)\s]+)\)")]
    private static partial Regex Link();
}
