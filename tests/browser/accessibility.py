"""axe-core in the browser tests: `assert_accessible(page, label)` checks what the page
shows now against WCAG 2.2 AA and fails with every violation's rule, impact, help text
and selectors. axe-core is vendored in tests/browser/vendor (see axe.VERSION; updated
by scripts/vendor_axe.sh)."""

from pathlib import Path

AXE_SOURCE = (Path(__file__).parent / "vendor" / "axe.min.js").read_text()

WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]

# axe's best-practice rules that are about landmarks, headings and table headers: a
# screen-reader user finds their way by these. The rest of best-practice is left out.
STRUCTURE_RULES = frozenset(
    {
        "landmark-banner-is-top-level",
        "landmark-complementary-is-top-level",
        "landmark-contentinfo-is-top-level",
        "landmark-main-is-top-level",
        "landmark-no-duplicate-banner",
        "landmark-no-duplicate-contentinfo",
        "landmark-no-duplicate-main",
        "landmark-one-main",
        "landmark-unique",
        "region",
        "page-has-heading-one",
        "heading-order",
        "empty-heading",
        "empty-table-header",
    }
)

_RUN = """async ([tags]) => {
    const results = await axe.run(document, {
        runOnly: {type: 'tag', values: tags},
        resultTypes: ['violations'],
    });
    return results.violations.map((v) => ({
        id: v.id,
        impact: v.impact,
        help: v.help,
        tags: v.tags,
        targets: v.nodes.map((n) => n.target.join(' ')),
    }));
}"""


# What axe-core 4.x no longer reports (WCAG 2.2 dropped 4.1.1 Parsing) or only marks
# for review, but a screen reader still trips on: two elements with one id (a label or
# hint then names the wrong field), and ARIA references to ids that do not exist.
_ID_CHECKS = """() => {
    const found = [];
    const seen = new Map();
    for (const element of document.querySelectorAll('[id]')) {
        seen.set(element.id, (seen.get(element.id) || 0) + 1);
    }
    const twice = [...seen].filter(([, count]) => count > 1).map(([id]) => '#' + id);
    if (twice.length) found.push({
        id: 'duplicate-id', impact: 'serious', tags: ['bazaar'],
        help: 'Ids must be unique: labels, hints and ARIA references name one element',
        targets: twice,
    });
    const attributes = [
        'aria-describedby', 'aria-labelledby', 'aria-controls', 'aria-errormessage'];
    const dangling = [];
    for (const attribute of attributes) {
        for (const element of document.querySelectorAll(`[${attribute}]`)) {
            for (const ref of element.getAttribute(attribute).split(/\\s+/).filter(Boolean)) {
                if (!document.getElementById(ref)) dangling.push(`${attribute}="${ref}" on ${
                    element.id ? '#' + element.id : element.tagName.toLowerCase()}`);
            }
        }
    }
    if (dangling.length) found.push({
        id: 'aria-idref-missing', impact: 'serious', tags: ['bazaar'],
        help: 'ARIA attributes must point at ids that exist on the page',
        targets: dangling,
    });
    return found;
}"""


def axe_violations(page) -> list[dict]:
    """Run axe-core (and the id checks) on the page as it is now; the violations that
    count."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE_SOURCE)
    found = page.evaluate(_RUN, [[*WCAG_TAGS, "best-practice"]])
    return [
        violation
        for violation in found
        if violation["id"] in STRUCTURE_RULES or set(violation["tags"]) & set(WCAG_TAGS)
    ] + page.evaluate(_ID_CHECKS)


def describe(label: str, violations: list[dict]) -> str:
    lines = [f"{label}: {len(violations)} accessibility violation(s)"]
    for violation in violations:
        lines.append(f"  [{violation['impact']}] {violation['id']}: {violation['help']}")
        lines.extend(f"      {target}" for target in violation["targets"][:8])
        if len(violation["targets"]) > 8:
            lines.append(f"      ... and {len(violation['targets']) - 8} more")
    return "\n".join(lines)


def assert_accessible(page, label: str) -> None:
    """Fail listing every WCAG 2.2 AA violation axe-core finds on `page` as it is now."""
    violations = axe_violations(page)
    assert not violations, describe(label, violations)
