"""Generate a synthetic Rugzak site of a given size (for benchmarks and scale tests).

    python benchmarks/generate.py OUT_DIR --awards 10000 [--learners N] [--badges M]

Realistic shapes: names with diacritics, text in Dutch and English, evidence links, ~5 %
expiring awards, ~0.5 % revocations, visibility mixed. Deterministic for a given size.
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

FIRST = ["Fatima", "Emre", "Zeynep", "Jeroen", "Małgorzata", "Nilton", "Priya", "Chloë",
         "Mohamed", "Ayşe", "Paweł", "Djenifer", "Ravi", "Anouk", "Sven", "Luana"]
LAST = ["El Amrani", "Yılmaz", "Çelik", "van der Heijden", "Wiśniewska", "Tavares", "Jagessar",
        "Verbeek", "Bouzid", "Öztürk", "Kowalczyk", "Lopes Fortes", "Ramdin", "Dijkstra"]
SKILLS = [("Lassen", "Welding"), ("CNC-frezen", "CNC milling"), ("3D-printen", "3D printing"),
          ("Veilig werken", "Safe work"), ("Digitale vaardigheden", "Digital skills"),
          ("Nederlands op het werk", "Dutch at work"), ("Samenwerken", "Teamwork"),
          ("Onderhoud", "Maintenance"), ("Lasersnijden", "Laser cutting"),
          ("Elektrotechniek", "Electrical basics")]


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def generate(out: Path, awards: int, learners: int, badges: int, seed: int = 7) -> None:
    """Write site.yaml, issuer, badges, learners, awards, revocations and status.yaml."""
    rng = random.Random(seed)
    write(out / "site.yaml", "title: {nl: Benchmark, en: Benchmark}\n"
                             "base_url: https://badges.example.org/\nissuer: bench\n")
    write(out / "issuers" / "bench.yaml", "name: Benchmark Leerbedrijf\n"
          "url: https://bench.example.org/\nemail: badges@bench.example.org\n")
    for b in range(badges):
        nl, en = SKILLS[b % len(SKILLS)]
        level = b // len(SKILLS) + 1
        write(out / "badges" / f"badge-{b:03d}.md",
              f"---\nname: {{nl: '{nl} {level}', en: '{en} {level}'}}\n"
              f"description: {{nl: '{nl} op niveau {level}.', en: '{en} at level {level}.'}}\n"
              f"colour: '#{rng.randrange(0x202020, 0xa0a0a0):06x}'\n"
              f"alignment:\n  - eqf: {min(8, level + 1)}\n---\n"
              f"## Criteria\n\n- Je laat zien dat je {nl.lower()} beheerst.\n"
              f"- Beoordeeld door een praktijkbegeleider.\n\n<!-- lang: en -->\n"
              f"## Criteria\n\n- You show you master {en.lower()}.\n- Assessed by a coach.\n")
    for n in range(learners):
        name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        visibility = rng.choice(["public", "public", "unlisted", "private"])
        write(out / "learners" / f"l{n:06d}.yaml",
              f"name: \"{name}\"\nidentifier: learner{n}@example.org\nvisibility: {visibility}\n")
    indices, revoked = [], []
    for a in range(awards):
        year, month, day = rng.choice([2024, 2025, 2026]), rng.randint(1, 9), rng.randint(1, 28)
        badge = f"badge-{rng.randrange(badges):03d}"
        text = (f"learner: l{rng.randrange(learners):06d}\nbadge: {badge}\n"
                f"issued: {year}-{month:02d}-{day:02d}\n"
                f"narrative: {{nl: 'Voerde opdracht {a} uit in de werkplaats, met \"zorg\" & "
                f"precisie.', en: 'Completed assignment {a} in the workshop with care.'}}\n"
                f"evidence:\n  - url: https://bench.example.org/portfolio/{a}\n"
                f"    name: Portfolio\n")
        if rng.random() < 0.05:
            text += f"expires: {year + 2}-{month:02d}-{day:02d}\n"
        write(out / "awards" / f"b{a:07d}.yaml", text)
        indices.append(f"  b{a:07d}: {a}\n")
        if rng.random() < 0.005:
            revoked.append(f"b{a:07d}:\n  date: 2026-10-01\n  reason: Vergissing.\n")
    write(out / "status.yaml", "indices:\n" + "".join(indices))
    write(out / "revocations.yaml", "".join(revoked) or "{}\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--awards", type=int, default=1000)
    parser.add_argument("--learners", type=int)
    parser.add_argument("--badges", type=int, default=20)
    args = parser.parse_args()
    generate(args.out, args.awards, args.learners or max(1, args.awards // 5), args.badges)


if __name__ == "__main__":
    main()
