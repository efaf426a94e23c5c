from lowbit.data.sentiment import load_sentences


def test_uci_sentiment_sentences():
    texts, labels, origin = load_sentences()
    assert len(texts) == len(labels) == len(origin) == 3000
    assert sum(labels) == 1500 and set(labels) == {0, 1}
    assert {s: origin.count(s) for s in set(origin)} == {"amazon": 1000, "imdb": 1000, "yelp": 1000}
    assert all(t.strip() for t in texts)
