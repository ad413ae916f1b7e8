using Spectre.Console;

namespace Vts.Ctl.Commands.Actor;

/// <summary>Folds the flat actor paths the node sends (akka://vts/user/...) back into the tree they came from.</summary>
public static class ActorPathTree
{
    public static Tree Build(IEnumerable<string> paths)
    {
        var roots = new Branch();
        foreach (var path in paths)
        {
            var (root, segments) = Split(path);
            var branch = roots.Child(root);
            foreach (var segment in segments) branch = branch.Child(segment);
        }

        // One actor system is the usual case; it becomes the root. Several (one per address) hang under a label.
        if (roots.Children.Count == 1)
        {
            var (name, only) = roots.Children.Single();
            return Fill(new Tree(new Text(name)), only);
        }
        return Fill(new Tree(new Text("actors")), roots);
    }

    // "akka://vts@host:4053/user/x" → root "akka://vts@host:4053", segments [user, x]
    private static (string Root, string[] Segments) Split(string path)
    {
        var scheme = path.IndexOf("://", StringComparison.Ordinal);
        var start = scheme < 0 ? 0 : scheme + 3;
        var firstSlash = path.IndexOf('/', start);
        if (firstSlash < 0) return (path, []);
        var root = firstSlash == 0 ? "/" : path[..firstSlash];
        return (root, path[(firstSlash + 1)..].Split('/', StringSplitOptions.RemoveEmptyEntries));
    }

    private static Tree Fill(Tree tree, Branch branch)
    {
        foreach (var (name, child) in branch.Children) Fill(tree.AddNode(new Text(name)), child);
        return tree;
    }

    private static void Fill(TreeNode node, Branch branch)
    {
        foreach (var (name, child) in branch.Children) Fill(node.AddNode(new Text(name)), child);
    }

    private sealed class Branch
    {
        public SortedDictionary<string, Branch> Children { get; } = new(StringComparer.Ordinal);

        public Branch Child(string name)
        {
            if (!Children.TryGetValue(name, out var child)) Children[name] = child = new Branch();
            return child;
        }
    }
}
