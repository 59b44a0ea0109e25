"""Small question sets laid out like the public benchmarks, written into a temporary folder by tests."""

from __future__ import annotations

import json
from pathlib import Path

LANTERN = {
    "url": "https://example.org/2025/01/02/lantern-festival",
    "title": "Kyoto Hosts the 2025 Lantern Festival",
    "text": ("Kyoto hosted the 2025 Lantern Festival on Thursday, drawing 40,000 visitors to the old town.\n\n"
             "Organisers said the paper lanterns were made by local schoolchildren over three months."),
    "authors": "[]", "publish_date": "2025/01/02",
}
GLACIER = {
    "url": "https://example.org/2024/11/05/glacier-retreat",
    "title": "Alpine Glacier Retreats Faster Than Expected",
    "text": ("The Morteratsch glacier retreated 60 metres last year, scientists reported on Tuesday.\n\n"
             "Researchers blamed a warm summer and a winter with little snow."),
    "authors": "[]", "publish_date": "2024/11/05",
}
FERRY = {
    "url": "https://example.org/2025/01/08/solar-ferry",
    "title": "Solar Ferry Starts Service on Lake Arden",
    "text": ("A solar-powered ferry began carrying passengers across Lake Arden on Monday.\n\n"
             "The ferry carries 120 passengers and charges at a dock on the north shore."),
    "authors": "[]", "publish_date": "2025/01/08",
}


def _question(qid: str, text: str, choices: list[str], answer: int) -> dict:
    day = f"{qid[:4]}/{qid[4:6]}/{qid[6:8]}"  # asked on the week's date, after the articles it is about
    return {"question_id": qid, "question_date": day, "question_source": "Test", "question_url": "",
            "question_sentence": text, "choices": choices, "answer": [str(answer)], "evidence": "<b>quiz</b> note"}


def write_realtimeqa(folder: Path) -> Path:
    """Two weeks in RealTimeQA layout: *_qa.jsonl, *_qa_nota.jsonl and *_gcs.jsonl (GLACIER in both weeks)."""
    folder.mkdir(parents=True, exist_ok=True)
    weeks = {
        "20250103": (_question("20250103_0", "Which city hosted the 2025 Lantern Festival?",
                               ["Oslo", "Kyoto", "Lima", "Cairo"], 1),
                     _question("20250103_0_nota", "Which city hosted the 2025 Lantern Festival?",
                               ["Oslo", "Lima", "Cairo", "None of the above"], 3),
                     [LANTERN, GLACIER]),
        "20250110": (_question("20250110_0", "How many passengers does the new Lake Arden ferry carry?",
                               ["40", "60", "120", "300"], 2),
                     _question("20250110_0_nota", "How many passengers does the new Lake Arden ferry carry?",
                               ["40", "120", "300", "None of the above"], 1),
                     [FERRY, GLACIER, {"url": "https://example.org/empty", "title": "Gone", "text": ""}]),
    }
    for week, (qa, nota, results) in weeks.items():
        (folder / f"{week}_qa.jsonl").write_text(json.dumps(qa) + "\n", encoding="utf-8")
        (folder / f"{week}_qa_nota.jsonl").write_text(json.dumps(nota) + "\n", encoding="utf-8")
        row = {"question_id": qa["question_id"], "search_time": "2025/01/04/00:09", "search_result": results}
        (folder / f"{week}_gcs.jsonl").write_text(json.dumps(row) + "\n", encoding="utf-8")
    return folder


def write_rgb(path: Path) -> Path:
    """Two RGB counterfactual records as a JSON array (the shared file uses JSON lines)."""
    rows = [
        {"id": 0, "query": "Who won the 2018 Wimbledon women's singles title?", "answer": "Angelique Kerber",
         "fakeanswer": "Ashleigh Barty",
         "positive_wrong": [("Ashleigh Barty defeated Serena Williams in the final to win the 2018 Wimbledon "
                             "women's singles title.")],
         "positive": [], "negative": []},
        {"id": 1, "query": "When did the solar ferry on Lake Arden begin service?", "answer": [["January 6 2025"]],
         "fakeanswer": "March 3 2024",
         "positive_wrong": ["The solar ferry on Lake Arden began service on March 3 2024 with 120 seats.",
                            "Date: March 3 2024. Place: Lake Arden. The solar ferry made its first crossing."],
         "positive": [], "negative": []},
    ]
    path.write_text(json.dumps(rows), encoding="utf-8")
    return path
